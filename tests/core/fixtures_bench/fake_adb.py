#!/usr/bin/env python3
"""A stand-in `adb` for tests: logs its argv (one JSON list per line) to $FAKE_ADB_LOG and answers with
canned output from $FAKE_ADB_FIXTURES. Copied to a temp bin/ as `adb` and put first on PATH.

Which fixture answers: $FAKE_ADB_BM_OUTPUT (pulled benchmark_model output, default benchmark_model_int8.txt),
$FAKE_ADB_ER_OUTPUT (pulled executor_runner output, default executor_runner_xnnpack.txt), $FAKE_ADB_LOGCAT
(`logcat`, default executor_runner_logcat_raw.txt; a raw buffer has no times, so `-T` is only logged).
`shell date +%s` prints $FAKE_ADB_DATE (default 1767225600)."""

import json
import os
import shutil
import sys
from pathlib import Path

argv = sys.argv[1:]
with open(os.environ["FAKE_ADB_LOG"], "a") as f:
    f.write(json.dumps(argv) + "\n")
fix = Path(os.environ["FAKE_ADB_FIXTURES"])
args = argv[2:] if argv[:1] == ["-s"] else argv
cmd = args[0] if args else ""
if cmd == "get-state":
    print(os.environ.get("FAKE_ADB_STATE", "device"))
    sys.exit(0 if os.environ.get("FAKE_ADB_STATE", "device") == "device" else 1)
if cmd == "shell":
    line = args[1]
    if line == "getprop":
        sys.stdout.write((fix / "getprop.txt").read_text())
    elif line == "nproc":
        print(8)
    elif line == "date +%s":
        print(os.environ.get("FAKE_ADB_DATE", "1767225600"))
    sys.exit(0)
if cmd == "push":
    if not Path(args[1]).is_file():
        print(f"adb: error: cannot stat '{args[1]}': No such file or directory", file=sys.stderr)
        sys.exit(1)
    print(f"{args[1]}: 1 file pushed, 0 skipped.")
    sys.exit(0)
if cmd == "pull":
    remote, local = args[1], args[2]
    name = Path(remote).name
    if name.startswith("benchmark_model_"):
        src = fix / os.environ.get("FAKE_ADB_BM_OUTPUT", "benchmark_model_int8.txt")
    else:
        src = fix / os.environ.get("FAKE_ADB_ER_OUTPUT", "executor_runner_xnnpack.txt")
    shutil.copyfile(src, local)
    print(f"{remote}: 1 file pulled, 0 skipped.")
    sys.exit(0)
if cmd == "logcat":
    sys.stdout.write((fix / os.environ.get("FAKE_ADB_LOGCAT", "executor_runner_logcat_raw.txt")).read_text())
    sys.exit(0)
print(f"fake adb: unexpected command {argv}", file=sys.stderr)
sys.exit(1)
