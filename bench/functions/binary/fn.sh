#!/bin/sh
# The benchmark's hello world for Skiff's binary runtime: one process per request, body on stdout.
printf 'Hello, world!\n'
