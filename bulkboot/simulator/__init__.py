"""An in-memory Keystone v3 + Nova (+ Glance and Neutron look-ups) on aiohttp.web, with faults."""
