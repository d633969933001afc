# The benchmark's hello world for Skiff's Python runtime: the same 14-byte body as every baseline.
def handle(request, ctx):
    return "Hello, world!\n"
