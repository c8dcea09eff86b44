#!/usr/bin/env python3
"""Writes a component's jobs with its inputs set to their defaults.

The shared validators read one YAML document, and a GitLab CI/CD component
is two: the `spec:` header, then the jobs. This keeps the jobs and fills in
every `$[[ inputs.NAME ]]` from the header's defaults, so the jobs can be
validated as GitLab would expand them.

usage: component-jobs.py COMPONENT OUT
"""
import re
import sys

source, target = sys.argv[1], sys.argv[2]
text = open(source, encoding="utf-8").read()
header, jobs = re.split(r"^---\s*$", text, maxsplit=1, flags=re.M)
defaults = {}
name = None
for line in header.splitlines():
    entry = re.match(r"^    ([A-Za-z_][\w-]*):\s*$", line)
    if entry:
        name = entry.group(1)
        continue
    default = re.match(r"^      default:\s*(.*?)\s*$", line)
    if default and name:
        defaults[name] = default.group(1).strip('"')


def substitute(match):
    key = match.group(1)
    if key not in defaults:
        sys.exit(f"{source}: input `{key}` has no default")
    return defaults[key]


open(target, "w", encoding="utf-8").write(re.sub(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]", substitute, jobs))
