#!/bin/sh
# A Skiff function run once per request: the request body on stdin, the answer on stdout; the query in
# $QUERY_STRING; status and headers go to the file $SKIFF_RESPONSE_HEADERS; stderr lines are its logs.
name=$(printf '%s' "$QUERY_STRING" | tr '&' '\n' | sed -n 's/^name=//p' | head -n 1)
[ -n "$name" ] || name=world
echo "Content-Type: text/plain; charset=utf-8" > "$SKIFF_RESPONSE_HEADERS"
echo "greeting $name" >&2
printf 'Hello, %s!\n' "$name"
