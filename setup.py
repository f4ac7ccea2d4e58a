"""Build hook: the wheel also carries the project files (`PROJECT_FILES` in
flows/settings.py: the dbt project, the suites, the sample feed registry with its landing
files and reference data), copied at build time into `flows/_project/`, where
`flows.settings.project_dir()` finds them outside a checkout. The folders stay where they
are in the checkout; MANIFEST.in puts them in the sdist. Everything else: pyproject.toml.
"""

import importlib.util
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _settings():
    """flows/settings.py, loaded by path: the build environment has none of the
    package's dependencies, and settings.py needs none."""
    spec = importlib.util.spec_from_file_location("_satudata_settings",
                                                  HERE / "flows" / "settings.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class BuildPyWithProject(build_py):
    """build_py, then the project files into `<build>/flows/_project/` (not for an
    editable install, which uses the checkout's own files)."""

    def _bundle(self) -> Path:
        return Path(self.build_lib) / "flows" / "_project"

    def _project_files(self) -> list[tuple[Path, Path]]:
        if getattr(self, "editable_mode", False):
            return []
        return [(HERE / rel, self._bundle() / rel) for rel in _settings().project_files(HERE)]

    def run(self):
        super().run()
        files = self._project_files()
        if files:
            shutil.rmtree(self._bundle(), ignore_errors=True)   # no file left from a build before
        for src, dest in files:
            self.mkpath(str(dest.parent))
            self.copy_file(str(src), str(dest), preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        return (super().get_outputs(include_bytecode)
                + [str(dest) for _, dest in self._project_files()])


setup(cmdclass={"build_py": BuildPyWithProject})
