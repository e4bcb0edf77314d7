"""Everything that talks to a cloud: configuration, Keystone, the aiohttp pool, Nova calls.

This is the only package that imports aiohttp (the simulator is a server and has its own).
"""
