"""The pure core: manifest -> server specs -> problems -> request bodies.

Nothing in this package does network I/O, uses asyncio, or imports rich or aiohttp.
The only I/O is reading the manifest and the local files it names (user data,
personality files), done once per file while loading, in ``yaml_nodes``.

    spec          the records that flow through: ServerSpec, Group, Manifest, Problem
    manifest      read_manifest / load_manifest: the top level, defaults, each group
      yaml_nodes    YAML nodes, their positions, the reader's state and file reads
      convert       node -> raw value, one converter per kind of value
      fields        the table of server fields: converter, attribute, finisher
      expand        a group -> its servers (templates rendered per server)
      names         the fleet-wide duplicate-name rule
    validate      validate / check: every rule, per group and per server
      checker       where problems go and where they point
      formats       Nova's formats for single values
      field_rules   one field at a time (device_rules: block devices and nics)
      cross_rules   fields together: boot source, multi-create, certificates
    body          BodyBuilder, build_requests: ServerSpec -> POST /servers body
      wire          Nova's wire keys and block devices as novaclient writes them
    microversion  parsing, negotiation and the fields each version accepts
    template      {index} and {name} templates
"""
