"""Build the Cython core; everything else is declared in pyproject.toml.

The core links zlib and OpenSSL's libcrypto, libdeflate when its header is found
(about 2.5x faster inflate here) and ISA-L's igzip when its header is found (the
members too big to inflate whole stream through it as fast as libdeflate, which
cannot stream, instead of through zlib); ``FASTINST_NO_LIBDEFLATE=1`` and
``FASTINST_NO_ISAL=1`` skip them.
If the extension cannot be built at all, ``FASTINST_REQUIRE_EXTENSION`` unset
lets the pure-Python core take over instead of failing the install.
"""

import os
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _has_header(name: str) -> bool:
    dirs = ["/usr/include", "/usr/local/include", sysconfig.get_paths()["include"]]
    extra = os.environ.get("CPATH", "") + os.pathsep + os.environ.get("C_INCLUDE_PATH", "")
    dirs += [d for d in extra.split(os.pathsep) if d]
    return any(os.path.exists(os.path.join(d, name)) for d in dirs)


def _core_extension() -> Extension:
    libraries = ["z", "crypto"]
    macros = []
    if not os.environ.get("FASTINST_NO_LIBDEFLATE") and _has_header("libdeflate.h"):
        libraries.append("deflate")
        macros.append(("FASTINST_HAVE_LIBDEFLATE", "1"))
    if not os.environ.get("FASTINST_NO_ISAL") and _has_header("isa-l/igzip_lib.h"):
        libraries.append("isal")
        macros.append(("FASTINST_HAVE_ISAL", "1"))
    return Extension(
        "fastinst._core",
        ["src/fastinst/_core.pyx"],
        # the .pxi files are found by cythonize; the header is included by the C file
        depends=["src/fastinst/_core_helpers.h"],
        libraries=libraries,
        define_macros=macros,
        extra_compile_args=["-O2", "-pthread"],
        extra_link_args=["-pthread"],
    )


class OptionalBuildExt(build_ext):
    """Fall back to the pure-Python core when the C build fails, unless asked not to."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            self._skip(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    def _skip(self, exc: Exception) -> None:
        if os.environ.get("FASTINST_REQUIRE_EXTENSION"):
            raise exc
        print(f"warning: fastinst._core not built ({exc}); the pure-Python core will be used",
              file=sys.stderr)


def _ext_modules():
    from Cython.Build import cythonize

    return cythonize(
        [_core_extension()],
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )


setup(ext_modules=_ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
