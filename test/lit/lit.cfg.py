# lit configuration for kforge's CLI tests (diagnostics, --emit=spec/stmt/asm).
import os
import subprocess

import lit.formats

config.name = "kforge"
config.test_format = lit.formats.ShTest(True)
config.suffixes = [".kf"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kforge_obj_root, "test", "lit")
config.excludes = ["Inputs"]

config.substitutions.append(("%kforge", config.kforge_path))
config.environment["PATH"] = os.pathsep.join([config.llvm_tools_dir, config.environment.get("PATH", "")])

# Features follow the target registry: "target-<name>" for every target this
# machine runs, so `REQUIRES: target-x86-avx512` needs no list kept by hand.
out = subprocess.run([config.kforge_path, "targets"], capture_output=True, text=True, check=True).stdout
for line in out.splitlines()[1:]:
    fields = line.split()
    if len(fields) >= 2 and fields[1] == "yes":
        config.available_features.add("target-" + fields[0])

# "kforge-arm64": this build made the aarch64 runtime archives (KFORGE_ARM64),
# so `kforge emit` can write arm64 libraries.
if config.kforge_arm64.upper() in ("ON", "TRUE", "YES", "1"):
    config.available_features.add("kforge-arm64")
