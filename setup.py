"""Build the Cython core; everything else is declared in pyproject.toml.

The core links zlib and OpenSSL's libcrypto (with OpenSSL 3 on Linux it opens
libcrypto when it first hashes instead: ``FASTINST_LINK_LIBCRYPTO=1`` links it),
libdeflate when its header is found
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


def _libcrypto_name() -> "str | None":
    """The file name to open libcrypto by when the core first hashes, or None to
    link it: with OpenSSL 3 on Linux, a process that imports the core (a warm
    install) then pays nothing for libcrypto it does not use.
    ``FASTINST_LINK_LIBCRYPTO=1`` links it as before."""
    if not sys.platform.startswith("linux") or os.environ.get("FASTINST_LINK_LIBCRYPTO"):
        return None
    import ctypes.util
    import re

    dirs = ["/usr/include", "/usr/local/include", sysconfig.get_paths()["include"]]
    for d in dirs:
        try:
            with open(os.path.join(d, "openssl", "opensslv.h"), encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        if not re.search(r"#\s*define\s+OPENSSL_VERSION_MAJOR\s+3\b", text):
            return None
        name = ctypes.util.find_library("crypto")
        return name if name == "libcrypto.so.3" else None
    return None


def _core_extension() -> Extension:
    libraries = ["z"]
    macros = []
    crypto = _libcrypto_name()
    if crypto is None:
        libraries.append("crypto")
    else:
        macros.append(("FI_LIBCRYPTO", f'"{crypto}"'))
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        if libc.startswith("glibc 2.") and int(libc.split(".")[1]) < 34:
            libraries.append("dl")  # dlopen is in libc itself from glibc 2.34
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
