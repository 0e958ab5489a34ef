# SHA-256 of a file (sha256_file) and of bytes (sha256). Included by _core.pyx.

cdef enum:
    SMALL_HASH = 1 << 16  # sha256() hashes up to this many bytes without libcrypto


cdef int _sha256_ready() except -1:
    """libcrypto's SHA-256, fetched on first use: the fetch costs a warm install,
    which hashes only a few small strings, about 5 million instructions."""
    if not fi_sha256_setup():
        raise RuntimeError(f"{FI_CRYPTO_NAME.decode()} cannot be loaded or has no SHA-256")
    return 0


def sha256(bytes data):
    """The SHA-256 digest (32 bytes) of ``data``: in C here for small data (so that
    a warm install need not import hashlib, about 11 million instructions, nor
    start libcrypto), else through libcrypto as everything else here.

    >>> sha256(b"").hex()[:16]
    'e3b0c44298fc1c14'
    """
    cdef unsigned char digest[32]
    cdef unsigned int dlen = 0
    cdef Py_ssize_t n = len(data)
    if n <= SMALL_HASH:
        fi_sha256_small(<const unsigned char*>PyBytes_AS_STRING(data), <size_t>n, digest)
        return <bytes>digest[:32]
    _sha256_ready()
    cdef EVP_MD_CTX* ctx = EVP_MD_CTX_new()
    try:
        if ctx == NULL or not fi_sha256_begin(ctx):
            raise MemoryError()
        EVP_DigestUpdate(ctx, PyBytes_AS_STRING(data), <size_t>len(data))
        EVP_DigestFinal_ex(ctx, digest, &dlen)
        return <bytes>digest[:32]
    finally:
        EVP_MD_CTX_free(ctx)


def sha256_file(str path):
    """The hex SHA-256 of the file at ``path``.

    >>> sha256_file("/dev/null")
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
    _sha256_ready()
    cdef bytes bpath = _fs(path)
    cdef const char* cpath = PyBytes_AS_STRING(bpath)
    cdef unsigned char digest[32]
    cdef unsigned int dlen = 0
    cdef int err = 0, fd
    cdef ssize_t r
    cdef unsigned char* buf = <unsigned char*>malloc(CHUNK)
    cdef EVP_MD_CTX* ctx = EVP_MD_CTX_new()
    try:
        if buf == NULL or ctx == NULL or not fi_sha256_begin(ctx):
            raise MemoryError()
        with nogil:
            fd = open(cpath, O_RDONLY | O_CLOEXEC)
            if fd < 0:
                err = errno
            else:
                while True:
                    r = read(fd, buf, CHUNK)
                    if r < 0:
                        if errno == EINTR:
                            continue
                        err = errno
                        break
                    if r == 0:
                        break
                    EVP_DigestUpdate(ctx, buf, <size_t>r)
                _close(fd)
            if err == 0:
                EVP_DigestFinal_ex(ctx, digest, &dlen)
        if err:
            raise OSError(err, os.strerror(err), path)
        return (<bytes>digest[:32]).hex()
    finally:
        free(buf)
        EVP_MD_CTX_free(ctx)
