import re, sys
from legnext_core.records import _FIELD_NAMES
fields = "|".join(sorted(_FIELD_NAMES, key=len, reverse=True))
names = sys.argv[1].split(",")
pat_names = "|".join(names)
for path in sys.argv[2:]:
    s = open(path).read()
    n0 = s
    s = re.sub(rf'\b({pat_names})\[\s*"({fields})"\s*\]', r'\1.\2', s)
    s = re.sub(rf'\b({pat_names})\.get\(\s*"({fields})"\s*\)', r'\1.\2', s)
    if s != n0:
        open(path, "w").write(s)
        print("changed", path)
# call expressions: foo(...)["field"] and foo()[0]["field"], except on_disk/read_log dicts
for path in sys.argv[2:]:
    s = open(path).read()
    out = []
    for line in s.split("\n"):
        if "on_disk" not in line and "read_log" not in line and "session_state" not in line and "json" not in line:
            line = re.sub(rf'(\)|\)\[\d+\]|\)\[-1\])\[\s*"({fields})"\s*\]', r'\1.\2', line)
            line = re.sub(rf'(\)|\)\[\d+\]|\)\[-1\])\.get\(\s*"({fields})"\s*\)', r'\1.\2', line)
            line = re.sub(rf'"({fields})" not in ({pat_names})\b', r'\2.\1 is None', line)
        out.append(line)
    s2 = "\n".join(out)
    if s2 != s:
        open(path, "w").write(s2); print("changed2", path)
