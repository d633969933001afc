"""A Skiff function: handle() gets the request and a context, and returns the answer
(a dict or list becomes JSON, a str text, bytes as they are). Try it: curl '<gateway>/<name>?name=you'"""


def handle(request, ctx):
    name = request.query.get("name", "world")
    ctx.log("greeting", name)
    return {"message": f"Hello, {name}!"}
