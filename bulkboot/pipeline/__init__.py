"""The pure core: manifest -> server specs -> problems -> request bodies.

Nothing in this package does network I/O, uses asyncio, or imports rich or aiohttp.
The only I/O is reading the manifest and the local files it names (user data,
personality files), done once per file while loading.
"""
