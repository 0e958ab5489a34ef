# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled core: zip directory, parallel inflate + CRC + SHA-256 + write, links, mkdir.

Every per-file loop runs in one ``with nogil:`` block on a pool of pthreads that
take tasks from a shared atomic counter; the first failure is recorded in a
shared struct and raised as ``CoreFailure`` once the GIL is back. Behaviour and
errors match ``_core_py``, its pure-Python twin, exactly.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.errno cimport (
    EEXIST, EINTR, EINVAL, EIO, ENOMEM, ENOSYS, EOPNOTSUPP, EXDEV, errno,
)
from libc.stdint cimport int64_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.string cimport memchr, memcmp, memcpy, memset
from posix.fcntl cimport O_CLOEXEC, O_CREAT, O_EXCL, O_RDONLY, O_WRONLY, open
from posix.ioctl cimport ioctl
from posix.stat cimport S_ISDIR, fstat, mkdir, stat, struct_stat
from posix.unistd cimport close, link, pread, read, sysconf, unlink, write

import os

from ._errors import CoreFailure, CorruptArchive

cdef extern from "Python.h":
    bytes PyUnicode_EncodeFSDefault(object unicode)

cdef extern from *:
    """
    #include <stdint.h>
    #include <stdlib.h>
    #include <limits.h>
    #include <errno.h>
    #include <openssl/evp.h>
    #include <openssl/opensslv.h>

    static inline size_t fi_fetch_add(size_t* p) {
        return __atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
    }
    static inline size_t fi_fetch_add_n(size_t* p, size_t n) {
        return __atomic_fetch_add(p, n, __ATOMIC_RELAXED);
    }
    static inline void fi_set_errno(int e) { errno = e; }
    static inline int fi_load(int* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
    static inline size_t fi_load_size(size_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
    static inline void fi_set(int* p) { __atomic_store_n(p, 1, __ATOMIC_RELAXED); }
    static inline int fi_claim(int* p) {
        int zero = 0;
        return __atomic_compare_exchange_n(p, &zero, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
    /* A shared byte budget: take n if that much is left, atomically. */
    static inline int fi_budget_take(int64_t* b, int64_t n) {
        int64_t cur = __atomic_load_n(b, __ATOMIC_RELAXED);
        while (cur >= n)
            if (__atomic_compare_exchange_n(b, &cur, cur - n, 1, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED))
                return 1;
        return 0;
    }
    static inline void fi_budget_give(int64_t* b, int64_t n) {
        __atomic_fetch_add(b, n, __ATOMIC_RELAXED);
    }
    static inline uint16_t fi_le16(const unsigned char* p) {
        return (uint16_t)(p[0] | (p[1] << 8));
    }
    static inline uint32_t fi_le32(const unsigned char* p) {
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16)
               | ((uint32_t)p[3] << 24);
    }
    static inline uint64_t fi_le64(const unsigned char* p) {
        return (uint64_t)fi_le32(p) | ((uint64_t)fi_le32(p + 4) << 32);
    }

    /* SHA-256 through libcrypto; OpenSSL 3 fetches the implementation once. */
    #if OPENSSL_VERSION_NUMBER >= 0x30000000L
    static EVP_MD* fi_md = NULL;
    static int fi_sha256_setup(void) {
        if (!fi_md) fi_md = EVP_MD_fetch(NULL, "SHA256", NULL);
        return fi_md != NULL;
    }
    #else
    static const EVP_MD* fi_md = NULL;
    static int fi_sha256_setup(void) { fi_md = EVP_sha256(); return fi_md != NULL; }
    #endif
    static int fi_sha256_begin(EVP_MD_CTX* ctx) { return EVP_DigestInit_ex(ctx, fi_md, NULL); }

    /* Whole-buffer inflate of raw deflate data: libdeflate when built with it,
       else zlib. fi_inflate returns 0 when the stream inflates to exactly out_n
       bytes, 1 when it is corrupt or truncated, 2 when it inflates to another size. */
    #include <zlib.h>
    #include <string.h>
    static int fi_zinflate(z_stream* z, const void* in, size_t in_n, void* out, size_t out_n) {
        /* zlib counts in uInt, so both buffers are fed in pieces; one spare byte
           past out_n tells "inflates to more" from "inflates to exactly out_n". */
        unsigned char spare;
        size_t in_left = in_n, out_left = out_n;
        int r, spare_used = 0;
        if (inflateReset(z) != Z_OK) return 1;
        z->next_in = (Bytef*)in; z->avail_in = 0;
        z->next_out = (Bytef*)out; z->avail_out = 0;
        for (;;) {
            if (z->avail_in == 0 && in_left) {
                uInt k = in_left > 0x40000000u ? 0x40000000u : (uInt)in_left;
                z->avail_in = k; in_left -= k;
            }
            if (z->avail_out == 0) {
                if (out_left) {
                    uInt k = out_left > 0x40000000u ? 0x40000000u : (uInt)out_left;
                    z->avail_out = k; out_left -= k;
                } else if (!spare_used) {
                    spare_used = 1; z->next_out = &spare; z->avail_out = 1;
                } else {
                    return 2;
                }
            }
            r = inflate(z, Z_NO_FLUSH);
            if (r == Z_STREAM_END) break;
            if (r == Z_BUF_ERROR && z->avail_out == 0) continue;
            if (r != Z_OK) return 1;
        }
        return z->total_out == out_n ? 0 : 2;
    }
    #ifdef FASTINST_HAVE_LIBDEFLATE
    #include <libdeflate.h>
    typedef struct libdeflate_decompressor fi_inflater;
    static fi_inflater* fi_inflater_new(void) { return libdeflate_alloc_decompressor(); }
    static void fi_inflater_free(fi_inflater* d) { if (d) libdeflate_free_decompressor(d); }
    static int fi_inflate(fi_inflater* d, const void* in, size_t in_n, void* out, size_t out_n) {
        size_t got = 0;
        z_stream z;
        int r;
        enum libdeflate_result lr = libdeflate_deflate_decompress(d, in, in_n, out, out_n, &got);
        if (lr == LIBDEFLATE_SUCCESS && got == out_n) return 0;
        /* A bad stream (rare): zlib gives the verdict, so that the failure kind is
           the one the pure-Python twin reports; libdeflate's stands if zlib has no memory. */
        r = lr == LIBDEFLATE_BAD_DATA ? 1 : 2;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, -15) != Z_OK) return r;
        r = fi_zinflate(&z, in, in_n, out, out_n);
        inflateEnd(&z);
        return r;
    }
    static uint32_t fi_crc32(uint32_t crc, const void* p, size_t n) {
        return libdeflate_crc32(crc, p, n);
    }
    #define FI_INFLATER "libdeflate"
    #else
    typedef z_stream fi_inflater;
    static fi_inflater* fi_inflater_new(void) {
        z_stream* z = (z_stream*)calloc(1, sizeof *z);
        if (z && inflateInit2(z, -15) != Z_OK) { free(z); z = NULL; }
        return z;
    }
    static void fi_inflater_free(fi_inflater* z) { if (z) { inflateEnd(z); free(z); } }
    static int fi_inflate(fi_inflater* z, const void* in, size_t in_n, void* out, size_t out_n) {
        return fi_zinflate(z, in, in_n, out, out_n);
    }
    static uint32_t fi_crc32(uint32_t crc, const void* p, size_t n) {
        return (uint32_t)crc32_z(crc, (const Bytef*)p, n);
    }
    #define FI_INFLATER "zlib"
    #endif
    """
    ctypedef struct fi_inflater:
        pass
    const char* FI_INFLATER
    size_t fi_fetch_add(size_t* p) nogil
    size_t fi_fetch_add_n(size_t* p, size_t n) nogil
    void fi_set_errno(int e) nogil
    int fi_load(int* p) nogil
    size_t fi_load_size(size_t* p) nogil
    void fi_set(int* p) nogil
    int fi_claim(int* p) nogil
    int fi_budget_take(int64_t* b, int64_t n) nogil
    void fi_budget_give(int64_t* b, int64_t n) nogil
    uint16_t fi_le16(const unsigned char* p) nogil
    uint32_t fi_le32(const unsigned char* p) nogil
    uint64_t fi_le64(const unsigned char* p) nogil
    int fi_sha256_setup()
    int fi_sha256_begin(EVP_MD_CTX* ctx) nogil
    fi_inflater* fi_inflater_new() nogil
    void fi_inflater_free(fi_inflater* d) nogil
    int fi_inflate(fi_inflater* d, const void* inp, size_t in_n, void* out, size_t out_n) nogil
    uint32_t fi_crc32(uint32_t crc, const void* p, size_t n) nogil


LINK_CLONE = 0
LINK_HARDLINK = 1
LINK_COPY = 2

#: which inflater this build uses ("libdeflate" or "zlib")
INFLATER = FI_INFLATER.decode()

if not fi_sha256_setup():
    raise ImportError("libcrypto has no SHA-256")

# Failure kinds, in the order of the checks made on each task.
cdef enum:
    K_OK = 0
    K_METHOD
    K_HEADER
    K_INFLATE
    K_SIZE
    K_CRC
    K_RECORD_SIZE
    K_SHA256
    K_IO
    K_PUT_ASIDE = 100   # not a failure: the task waits for memory (see _next_task)

# Memory: each worker keeps buffers for members up to SMALL_MEMBER bytes (input plus
# output). A bigger member is inflated whole (libdeflate, fastest) in buffers of
# its own, taken from a budget that all workers of one call share and freed right
# after; when the budget cannot cover it, or it is over _stream_min, it is streamed
# through zlib in CHUNK pieces instead (about 2.5x slower, but little memory). So
# the two 25 MB libraries of the corpus do not cost 65 MB at once.
#
# The limits keep peak memory under pip's (57 MB on the corpus): members over 4 MB
# are streamed. Measured on the corpus (in-process install, tmpfs): budget 40 MB /
# stream over 64 MB: peak 88 MB; 16/8: 66 MB; 8/4: 59 MB, at no measurable CPU
# cost (those members are 78 of its 353 MB).
cdef int64_t _stream_min = 4 << 20
cdef int64_t _whole_budget = 8 << 20


def _set_stream_threshold(n: int) -> int:
    """Set the size above which members are always streamed (tests); return the old one."""
    global _stream_min
    old = _stream_min
    _stream_min = n
    return old


def _set_memory_budget(n: int) -> int:
    """Set the shared budget for whole-buffer big members (tests); return the old one."""
    global _whole_budget
    old = _whole_budget
    _whole_budget = n
    return old


_KIND_NAMES = ("", "method", "header", "inflate", "size", "crc", "record-size", "sha256", "io")

cdef enum:
    CHUNK = 1 << 20
    HASH_PIECE = 1 << 16  # fits in L2 between the CRC pass and the SHA-256 pass
    SMALL_MEMBER = 4 << 20
    HEADER_SLACK = 512    # name + extra field of a local header, read with the data
    MAX_IO = 0x40000000   # per read/write call; Linux moves at most ~2 GiB at once


# --- small I/O helpers (nogil, errno-based) -------------------------------------------


cdef int64_t _pread_full(int fd, unsigned char* buf, int64_t n, int64_t offset) noexcept nogil:
    """Read up to ``n`` bytes at ``offset``; the count read (short at EOF), or -1 (errno)."""
    cdef int64_t done = 0
    cdef ssize_t r
    while done < n:
        r = pread(fd, buf + done, <size_t>(n - done if n - done < MAX_IO else MAX_IO),
                  offset + done)
        if r < 0:
            if errno == EINTR:
                continue
            return -1
        if r == 0:
            break
        done += r
    return done


cdef int _write_full(int fd, const unsigned char* buf, int64_t n) noexcept nogil:
    """Write all ``n`` bytes; 0, or -1 (errno)."""
    cdef ssize_t r
    while n > 0:
        r = write(fd, buf, <size_t>(n if n < MAX_IO else MAX_IO))
        if r <= 0:
            if r < 0 and errno == EINTR:
                continue
            if r == 0:
                fi_set_errno(EIO)
            return -1
        buf += r
        n -= r
    return 0


cdef int _close(int fd) noexcept nogil:
    # Linux closes the descriptor even when close() reports EINTR: never retry.
    return close(fd)


cdef int _open_new(const char* path, int mode) noexcept nogil:
    """Create ``path``, which must not exist yet, for writing; the fd or -1 (errno)."""
    cdef int fd
    while True:
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd >= 0 or errno != EINTR:
            return fd


cdef long _cpu_count() noexcept nogil:
    cdef long n = sysconf(_SC_NPROCESSORS_ONLN)
    return n if n > 0 else 1


cdef int _n_threads(int threads, size_t work) except -1:
    if threads < 0:
        raise ValueError("threads must be >= 0")
    cdef size_t n = <size_t>threads if threads else <size_t>_cpu_count()
    if n > work:
        n = work
    return <int>n if n > 0 else 1


cdef bytes _fs(object path):
    """``path`` encoded for the C calls (as ``os.fsencode``); NUL bytes are refused."""
    if not isinstance(path, str):
        raise TypeError(f"paths must be str, not {type(path).__name__}")
    cdef bytes b = PyUnicode_EncodeFSDefault(path)
    if memchr(PyBytes_AS_STRING(b), 0, <size_t>PyBytes_GET_SIZE(b)) != NULL:
        raise ValueError("embedded null byte")
    return b


# --- central directory -----------------------------------------------------------------


def read_central_directory(str path):
    """Every entry of the zip archive at ``path``, in central-directory order.

    >>> read_central_directory("demo-1.0-py3-none-any.whl")[0][0]
    'demo/__init__.py'
    """
    cdef bytes bpath = _fs(path)
    cdef int fd = open(PyBytes_AS_STRING(bpath), O_RDONLY | O_CLOEXEC)
    if fd < 0:
        raise OSError(errno, os.strerror(errno), path)
    try:
        return _read_central_directory(fd, path)
    finally:
        _close(fd)


cdef bytes _pread_bytes(int fd, int64_t n, int64_t offset):
    """Up to ``n`` bytes at ``offset`` as bytes; short only at end of file."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    cdef int64_t got
    with nogil:
        got = _pread_full(fd, p, n, offset)
    if got < 0:
        raise OSError(errno, os.strerror(errno))
    return out if got == n else out[:got]


cdef list _read_central_directory(int fd, str path):
    cdef struct_stat st
    if fstat(fd, &st) != 0:
        raise OSError(errno, os.strerror(errno), path)
    cdef uint64_t size = <uint64_t>st.st_size
    if size < 22:
        raise CorruptArchive(wheel=path, reason="no end of central directory record")
    cdef uint64_t tail_len = size if size < 22 + 0xFFFF else 22 + 0xFFFF
    cdef bytes tail = _pread_bytes(fd, <int64_t>tail_len, <int64_t>(size - tail_len))
    if <uint64_t>PyBytes_GET_SIZE(tail) != tail_len:
        raise CorruptArchive(wheel=path, reason="archive changed while being read")
    cdef const unsigned char* t = <const unsigned char*>PyBytes_AS_STRING(tail)
    cdef Py_ssize_t p = <Py_ssize_t>tail_len - 22
    while p >= 0 and memcmp(t + p, b"PK\x05\x06", 4) != 0:
        p -= 1
    if p < 0:
        raise CorruptArchive(wheel=path, reason="no end of central directory record")

    cdef uint64_t eocd_pos = size - tail_len + <uint64_t>p
    cdef uint64_t disk = fi_le16(t + p + 4)
    cdef uint64_t cd_disk = fi_le16(t + p + 6)
    cdef uint64_t n_disk = fi_le16(t + p + 8)
    cdef uint64_t n_total = fi_le16(t + p + 10)
    cdef uint64_t cd_size = fi_le32(t + p + 12)
    cdef uint64_t cd_offset = fi_le32(t + p + 16)
    cdef uint64_t cd_end = eocd_pos
    cdef uint64_t z64_offset
    cdef bytes locator, rec
    cdef const unsigned char* r
    if eocd_pos >= 20:
        locator = _pread_bytes(fd, 20, <int64_t>(eocd_pos - 20))
        r = <const unsigned char*>PyBytes_AS_STRING(locator)
        if PyBytes_GET_SIZE(locator) == 20 and memcmp(r, b"PK\x06\x07", 4) == 0:
            z64_offset = fi_le64(r + 8)
            if fi_le32(r + 4) != 0 or fi_le32(r + 16) > 1:
                raise CorruptArchive(wheel=path, reason="multi-disk archives are not supported")
            if eocd_pos - 20 < 56 or z64_offset > eocd_pos - 20 - 56:
                raise CorruptArchive(
                    wheel=path, reason="bad zip64 end of central directory record")
            rec = _pread_bytes(fd, 56, <int64_t>z64_offset)
            r = <const unsigned char*>PyBytes_AS_STRING(rec)
            if PyBytes_GET_SIZE(rec) != 56 or memcmp(r, b"PK\x06\x06", 4) != 0:
                raise CorruptArchive(
                    wheel=path, reason="bad zip64 end of central directory record")
            disk = fi_le32(r + 16)
            cd_disk = fi_le32(r + 20)
            n_disk = fi_le64(r + 24)
            n_total = fi_le64(r + 32)
            cd_size = fi_le64(r + 40)
            cd_offset = fi_le64(r + 48)
            cd_end = z64_offset
    if disk != 0 or cd_disk != 0 or n_disk != n_total:
        raise CorruptArchive(wheel=path, reason="multi-disk archives are not supported")
    if cd_offset > cd_end or cd_size > cd_end - cd_offset:
        raise CorruptArchive(wheel=path, reason="central directory lies outside the file")
    cdef bytes cd = _pread_bytes(fd, <int64_t>cd_size, <int64_t>cd_offset)
    if <uint64_t>PyBytes_GET_SIZE(cd) != cd_size:
        raise CorruptArchive(wheel=path, reason="archive changed while being read")
    return _parse_entries(<const unsigned char*>PyBytes_AS_STRING(cd), cd_size, n_total,
                          cd_offset, path)


cdef list _parse_entries(const unsigned char* cd, uint64_t cd_size, uint64_t n_total,
                         uint64_t cd_offset, str path):
    cdef list entries = []
    cdef uint64_t pos = 0, end, i
    cdef uint64_t usize, csize, offset
    cdef unsigned int n, e, c
    cdef const unsigned char* h
    cdef str name
    i = 0
    while i < n_total:
        i += 1
        if cd_size - pos < 46:
            raise CorruptArchive(wheel=path, reason="entry count mismatch")
        h = cd + pos
        if memcmp(h, b"PK\x01\x02", 4) != 0:
            raise CorruptArchive(wheel=path, reason="bad central directory entry signature")
        n = fi_le16(h + 28)
        e = fi_le16(h + 30)
        c = fi_le16(h + 32)
        end = pos + 46 + n + e + c
        if end > cd_size:
            raise CorruptArchive(wheel=path, reason="central directory is truncated")
        try:
            name = PyUnicode_DecodeUTF8(<char*>h + 46, n, NULL)
        except UnicodeDecodeError:
            raise CorruptArchive(wheel=path, reason="member name is not valid UTF-8") from None
        csize = fi_le32(h + 20)
        usize = fi_le32(h + 24)
        offset = fi_le32(h + 42)
        if usize == 0xFFFFFFFF or csize == 0xFFFFFFFF or offset == 0xFFFFFFFF:
            if not _zip64_extra(h + 46 + n, e, &usize, &csize, &offset):
                raise CorruptArchive(wheel=path, reason="bad zip64 extra field")
        if offset > cd_offset or cd_offset - offset < 30 or cd_offset - offset - 30 < csize:
            raise CorruptArchive(wheel=path, reason="entry offset out of range")
        entries.append((name, fi_le16(h + 10), fi_le16(h + 8), fi_le32(h + 16), csize, usize,
                        offset, fi_le32(h + 38)))
        pos = end
    if pos != cd_size:
        raise CorruptArchive(wheel=path, reason="entry count mismatch")
    return entries


cdef bint _zip64_extra(const unsigned char* extra, unsigned int n, uint64_t* usize,
                       uint64_t* csize, uint64_t* offset) noexcept:
    """Replace the 0xFFFFFFFF fields by their values from the zip64 extra field."""
    cdef unsigned int q = 0, kind, size, d
    cdef int k
    cdef uint64_t* fields[3]
    fields[0] = usize
    fields[1] = csize
    fields[2] = offset
    while q + 4 <= n:
        kind = fi_le16(extra + q)
        size = fi_le16(extra + q + 2)
        if kind == 1:
            if q + 4 + size > n:
                return False
            d = 0
            for k in range(3):
                if fields[k][0] == 0xFFFFFFFF:
                    if d + 8 > size:
                        return False
                    fields[k][0] = fi_le64(extra + q + 4 + d)
                    d += 8
            return True
        q += 4 + size
    return False


# --- extraction -----------------------------------------------------------------------


cdef struct Worker:
    Shared* sh
    unsigned char* inbuf
    size_t incap
    unsigned char* outbuf
    size_t outcap
    fi_inflater* inflater
    z_stream* zs              # streaming inflate of big members, made when first needed
    EVP_MD_CTX* md
    pthread_t thread
    int started


cdef unsigned char* _reserve(unsigned char** buf, size_t* cap, size_t n) noexcept nogil:
    """``*buf`` with room for ``n`` bytes (at least 1), grown, never shrunk; NULL: no memory."""
    if n == 0:
        n = 1
    if n <= cap[0]:
        return buf[0]
    free(buf[0])
    buf[0] = <unsigned char*>malloc(n)
    cap[0] = n if buf[0] != NULL else 0
    return buf[0]


cdef void _fail(Shared* sh, int kind, int job, int index, int err, int on_source) noexcept nogil:
    """Record the first failure of the call; later ones are dropped."""
    fi_set(&sh.stop)
    if fi_claim(&sh.failed):
        sh.fail_kind = kind
        sh.fail_job = job
        sh.fail_index = index
        sh.fail_errno = err
        sh.fail_on_source = on_source


cdef bint _crc_sha256(EVP_MD_CTX* md, const unsigned char* p, size_t n, uint32_t* crc,
                      unsigned char* digest) noexcept nogil:
    """CRC-32 and SHA-256 of ``p[:n]`` in one pass over cache-sized pieces."""
    cdef size_t k
    cdef unsigned int dlen
    cdef uint32_t c = 0
    if not fi_sha256_begin(md):
        return False
    while n > 0:
        k = n if n < HASH_PIECE else HASH_PIECE
        c = fi_crc32(c, p, k)
        if not EVP_DigestUpdate(md, p, k):
            return False
        p += k
        n -= k
    crc[0] = c
    return EVP_DigestFinal_ex(md, digest, &dlen) == 1


cdef int _extract_one(Worker* w, Task* t) noexcept nogil:
    """Extract one member; K_OK, or the failure kind (errno is set for K_IO).

    An I/O error while reading the archive is returned as -K_IO (its path is the
    archive's, not the destination's).
    """
    cdef unsigned char head[30]
    cdef int64_t got, start, need
    cdef unsigned char* bin_ = NULL
    cdef unsigned char* bout = NULL
    cdef size_t bin_cap = 0, bout_cap = 0
    cdef int r, err
    if t.method != 0 and t.method != 8:
        return K_METHOD
    if t.offset < 0 or t.csize < 0 or t.usize < 0:
        return K_HEADER
    need = t.usize + (t.csize if t.method == 8 else 0)
    if need <= SMALL_MEMBER and t.csize <= SMALL_MEMBER:
        return _extract_small(w, t)
    got = _pread_full(t.fd, head, 30, t.offset)
    r = -K_IO if got < 0 else K_OK
    if r == K_OK and (got != 30 or memcmp(head, b"PK\x03\x04", 4) != 0):
        r = K_HEADER
    if r == K_OK:
        start = t.offset + 30 + fi_le16(head + 26) + fi_le16(head + 28)
        if start > t.archive_size or t.csize > t.archive_size - start:
            r = K_HEADER
    if r != K_OK:
        if t.state == 2:  # the memory taken for it when it was picked up again
            fi_budget_give(&w.sh.budget, t.need)
        return r
    if t.usize > _stream_min or t.csize > _stream_min:
        return _extract_streaming(w, t, start)
    if t.state != 2 and not fi_budget_take(&w.sh.budget, need):
        # no memory for it now: put it aside (the other workers' big members will be
        # done soon), or, if it was put aside already, stream it
        if t.state == 0:
            t.need = need
            _put_aside(w.sh, t)
            return K_PUT_ASIDE
        return _extract_streaming(w, t, start)
    r = _extract_whole(w, t, start, &bin_, &bin_cap, &bout, &bout_cap)
    err = errno
    free(bin_)
    free(bout)
    fi_budget_give(&w.sh.budget, need)
    fi_set_errno(err)
    return r


cdef void _put_aside(Shared* sh, Task* t) noexcept nogil:
    pthread_mutex_lock(&sh.lock)
    t.state = 1
    sh.deferred[sh.ndeferred] = t
    sh.ndeferred += 1
    pthread_mutex_unlock(&sh.lock)


cdef Task* _next_task(Shared* sh) noexcept nogil:
    """The next task: a big member put aside whose memory is now free, else the next
    in order, else (at the end) a big member put aside, to be streamed if need be."""
    cdef size_t i, k
    cdef Task* t = NULL
    if fi_load_size(&sh.ndeferred) > 0:
        pthread_mutex_lock(&sh.lock)
        for k in range(sh.ndeferred):
            if fi_budget_take(&sh.budget, sh.deferred[k].need):
                t = sh.deferred[k]
                t.state = 2
                break
        if t != NULL:
            sh.ndeferred -= 1
            for i in range(k, sh.ndeferred):
                sh.deferred[i] = sh.deferred[i + 1]
        pthread_mutex_unlock(&sh.lock)
        if t != NULL:
            return t
    i = fi_fetch_add(&sh.next)
    if i < sh.ntasks:
        return &sh.tasks[i]
    pthread_mutex_lock(&sh.lock)
    if sh.ndeferred > 0:
        t = sh.deferred[0]
        sh.ndeferred -= 1
        for i in range(sh.ndeferred):
            sh.deferred[i] = sh.deferred[i + 1]
    pthread_mutex_unlock(&sh.lock)
    return t


cdef int _extract_small(Worker* w, Task* t) noexcept nogil:
    """A member that fits the worker's own buffers: local header and data are read
    with one pread (the header's name and extra fields are guessed to fit in
    HEADER_SLACK bytes; a second read fetches the rest when they do not)."""
    cdef unsigned char** buf = &w.inbuf if t.method == 8 else &w.outbuf
    cdef size_t* cap = &w.incap if t.method == 8 else &w.outcap
    cdef int64_t want = 30 + HEADER_SLACK + t.csize
    cdef int64_t got, hl
    cdef unsigned char* p = _reserve(buf, cap, <size_t>want)
    cdef unsigned char* data
    cdef int r
    if p == NULL:
        fi_set_errno(ENOMEM)
        return K_IO
    got = _pread_full(t.fd, p, want, t.offset)
    if got < 0:
        return -K_IO
    if got < 30 or memcmp(p, b"PK\x03\x04", 4) != 0:
        return K_HEADER
    hl = 30 + fi_le16(p + 26) + fi_le16(p + 28)
    if t.offset + hl > t.archive_size or t.csize > t.archive_size - t.offset - hl:
        return K_HEADER
    if hl + t.csize > got:  # long name or extra field: read header and data again
        p = _reserve(buf, cap, <size_t>(hl + t.csize))
        if p == NULL:
            fi_set_errno(ENOMEM)
            return K_IO
        got = _pread_full(t.fd, p, hl + t.csize, t.offset)
        if got < 0:
            return -K_IO
        if got != hl + t.csize:
            return K_HEADER
    if t.method == 0:
        if t.csize != t.usize:
            return K_SIZE
        return _check_and_write(w, t, p + hl)
    data = _reserve(&w.outbuf, &w.outcap, <size_t>t.usize)
    if data == NULL:
        fi_set_errno(ENOMEM)
        return K_IO
    r = fi_inflate(w.inflater, p + hl, <size_t>t.csize, data, <size_t>t.usize)
    if r == 1:
        return K_INFLATE
    if r == 2:
        return K_SIZE
    return _check_and_write(w, t, data)


cdef int _extract_whole(Worker* w, Task* t, int64_t start, unsigned char** inbuf,
                        size_t* incap, unsigned char** outbuf, size_t* outcap) noexcept nogil:
    """Read and inflate (libdeflate) ``t`` in whole-member buffers, then check and write."""
    cdef int64_t got
    cdef unsigned char* data
    cdef unsigned char* raw
    cdef int r
    if t.method == 0:
        # stored: read straight into the buffer that is hashed and written
        data = _reserve(outbuf, outcap, <size_t>t.csize)
        if data == NULL:
            fi_set_errno(ENOMEM)
            return K_IO
        got = _pread_full(t.fd, data, t.csize, start)
        if got < 0:
            return -K_IO
        if got != t.csize:
            return K_HEADER
        if t.csize != t.usize:
            return K_SIZE
    else:
        raw = _reserve(inbuf, incap, <size_t>t.csize)
        data = _reserve(outbuf, outcap, <size_t>t.usize)
        if raw == NULL or data == NULL:
            fi_set_errno(ENOMEM)
            return K_IO
        got = _pread_full(t.fd, raw, t.csize, start)
        if got < 0:
            return -K_IO
        if got != t.csize:
            return K_HEADER
        r = fi_inflate(w.inflater, raw, <size_t>t.csize, data, <size_t>t.usize)
        if r == 1:
            return K_INFLATE
        if r == 2:
            return K_SIZE
    return _check_and_write(w, t, data)


cdef int _check_and_write(Worker* w, Task* t, const unsigned char* data) noexcept nogil:
    """CRC, size and SHA-256 checks of the inflated ``data``; then the new file."""
    cdef uint32_t crc
    cdef int r, fd
    if not _crc_sha256(w.md, data, <size_t>t.usize, &crc, t.digest):
        fi_set_errno(ENOMEM)
        return K_IO
    if crc != t.crc:
        return K_CRC
    if t.expected_size != -1 and t.expected_size != t.usize:
        return K_RECORD_SIZE
    if t.has_sha == 2 or (t.has_sha == 1 and memcmp(t.digest, t.expected, 32) != 0):
        return K_SHA256
    fd = _open_new(t.dest, t.mode)
    if fd < 0:
        return K_IO
    if _write_full(fd, data, t.usize) != 0:
        r = errno
        _close(fd)
        fi_set_errno(r)
        return K_IO
    if _close(fd) != 0:
        return K_IO
    return K_OK


cdef int _emit(Worker* w, int fd, const unsigned char* p, size_t n,
               uint32_t* crc) noexcept nogil:
    """One piece of a streamed member: CRC, SHA-256 and write; K_OK or K_IO (errno)."""
    crc[0] = fi_crc32(crc[0], p, n)
    if not EVP_DigestUpdate(w.md, p, n):
        fi_set_errno(ENOMEM)
        return K_IO
    return K_IO if _write_full(fd, p, <int64_t>n) != 0 else K_OK


cdef int _stream_pieces(Worker* w, Task* t, int64_t start, int fd, uint32_t* crc,
                        int64_t* total) noexcept nogil:
    """Read, inflate, hash and write ``t`` piece by piece; K_OK or the failure kind."""
    cdef unsigned char* inp = w.inbuf
    cdef unsigned char* out = w.outbuf
    cdef z_stream* zs = w.zs
    cdef int64_t in_left = t.csize, pos = start, got
    cdef size_t n, produced
    cdef int r, kind
    if t.method == 0:
        while in_left > 0:
            n = <size_t>(in_left if in_left < CHUNK else CHUNK)
            got = _pread_full(t.fd, out, <int64_t>n, pos)
            if got < 0:
                return -K_IO
            if got != <int64_t>n:
                return K_HEADER
            pos += got
            in_left -= got
            total[0] += got
            kind = _emit(w, fd, out, n, crc)
            if kind != K_OK:
                return kind
        return K_OK
    zs.avail_in = 0
    while True:
        if zs.avail_in == 0 and in_left > 0:
            n = <size_t>(in_left if in_left < CHUNK else CHUNK)
            got = _pread_full(t.fd, inp, <int64_t>n, pos)
            if got < 0:
                return -K_IO
            if got != <int64_t>n:
                return K_HEADER
            pos += got
            in_left -= got
            zs.next_in = inp
            zs.avail_in = <unsigned int>n
        zs.next_out = out
        zs.avail_out = CHUNK
        r = inflate(zs, Z_NO_FLUSH)
        produced = CHUNK - zs.avail_out
        if produced:
            if total[0] + <int64_t>produced > t.usize:
                return K_SIZE
            total[0] += produced
            kind = _emit(w, fd, out, produced, crc)
            if kind != K_OK:
                return kind
        if r == Z_STREAM_END:
            return K_OK
        if r != Z_OK:  # corrupt, or Z_BUF_ERROR: input used up before the end of the stream
            return K_INFLATE


cdef int _extract_streaming(Worker* w, Task* t, int64_t start) noexcept nogil:
    """A member too big to hold in memory: streamed through zlib in CHUNK pieces.

    Same checks and failure kinds as the whole-buffer path; the file is created
    first and removed again when a check fails, so the outcome is the same too.
    """
    cdef uint32_t crc = 0
    cdef int64_t total = 0
    cdef unsigned int dlen
    cdef int fd, kind, err
    if t.method == 0 and t.csize != t.usize:
        return K_SIZE
    if (_reserve(&w.inbuf, &w.incap, CHUNK) == NULL
            or _reserve(&w.outbuf, &w.outcap, CHUNK) == NULL):
        fi_set_errno(ENOMEM)
        return K_IO
    if t.method == 8:
        if w.zs == NULL:
            w.zs = <z_stream*>calloc(1, sizeof(z_stream))
            if w.zs != NULL and inflateInit2(w.zs, -15) != Z_OK:
                free(w.zs)
                w.zs = NULL
            if w.zs == NULL:
                fi_set_errno(ENOMEM)
                return K_IO
        elif inflateReset(w.zs) != Z_OK:
            return K_INFLATE
    if not fi_sha256_begin(w.md):
        fi_set_errno(ENOMEM)
        return K_IO
    fd = _open_new(t.dest, t.mode)
    if fd < 0:
        return K_IO
    kind = _stream_pieces(w, t, start, fd, &crc, &total)
    if kind == K_OK:
        if total != t.usize:
            kind = K_SIZE
        elif crc != t.crc:
            kind = K_CRC
        elif t.expected_size != -1 and t.expected_size != t.usize:
            kind = K_RECORD_SIZE
        elif not EVP_DigestFinal_ex(w.md, t.digest, &dlen):
            fi_set_errno(ENOMEM)
            kind = K_IO
        elif t.has_sha == 2 or (t.has_sha == 1 and memcmp(t.digest, t.expected, 32) != 0):
            kind = K_SHA256
    err = errno
    if _close(fd) != 0 and kind == K_OK:
        err = errno
        kind = K_IO
    if kind != K_OK:
        unlink(t.dest)
    fi_set_errno(err)
    return kind


cdef void* _extract_worker(void* arg) noexcept nogil:
    cdef Worker* w = <Worker*>arg
    cdef Shared* sh = w.sh
    cdef int r
    cdef Task* t
    w.inflater = fi_inflater_new()
    w.md = EVP_MD_CTX_new()
    if w.inflater == NULL or w.md == NULL:
        _fail(sh, K_IO, 0, 0, ENOMEM, 0)
    while not fi_load(&sh.stop):
        t = _next_task(sh)
        if t == NULL:
            break
        r = _extract_one(w, t)
        if r == K_PUT_ASIDE:
            continue
        if r != K_OK:
            _fail(sh, -r if r < 0 else r, t.job, t.index, errno if r == K_IO or r == -K_IO else 0,
                  r < 0)
    fi_inflater_free(w.inflater)
    if w.zs != NULL:
        inflateEnd(w.zs)
        free(w.zs)
    EVP_MD_CTX_free(w.md)
    free(w.inbuf)
    free(w.outbuf)
    return NULL


cdef void _run_pool(Shared* sh, Worker* workers, int n,
                    void* (*fn)(void*) noexcept nogil) noexcept nogil:
    """Run ``fn`` on ``n`` workers: this thread is worker 0, the others are pthreads
    (if a thread cannot be started, the others do its share)."""
    cdef int k
    for k in range(n):
        workers[k].sh = sh
    for k in range(1, n):
        workers[k].started = pthread_create(&workers[k].thread, NULL, fn, &workers[k]) == 0
    fn(&workers[0])
    for k in range(1, n):
        if workers[k].started:
            pthread_join(workers[k].thread, NULL)


cdef int _cmp_tasks(const void* a, const void* b) noexcept nogil:
    cdef const Task* x = <const Task*>a
    cdef const Task* y = <const Task*>b
    if x.usize != y.usize:
        return -1 if x.usize > y.usize else 1
    if x.job != y.job:
        return -1 if x.job < y.job else 1
    return -1 if x.index < y.index else (1 if x.index > y.index else 0)


def extract(jobs, int threads):
    """Extract every task of every ``(archive, tasks)`` job; per job, the digests.

    >>> extract([("demo.whl", [(0, 8, 20, 31, 0x1234abcd, "/stage/a.py", 0o644, b"", -1)])], 0)
    [b'...32 bytes...']
    """
    from . import _core_py

    cdef list job_list = list(jobs)
    cdef Py_ssize_t njobs = len(job_list)
    cdef list archives = []
    cdef list task_lists = []
    cdef Py_ssize_t total = 0
    cdef Py_ssize_t j, i
    for job in job_list:
        archive, tasks = job
        if not isinstance(archive, str):
            raise TypeError(f"paths must be str, not {type(archive).__name__}")
        tasks = list(tasks)
        archives.append(archive)
        task_lists.append(tasks)
        total += len(tasks)

    cdef list results = []
    cdef list keep = []       # the encoded destinations, alive while C points into them
    cdef list zstd = []       # (job, index, task) for the Python pass after the pool
    cdef list fds = [-1] * njobs
    cdef list sizes = [0] * njobs
    cdef Task* arr = <Task*>malloc(<size_t>(total if total else 1) * sizeof(Task))
    if arr == NULL:
        raise MemoryError()
    cdef Shared sh
    cdef Worker* workers = NULL
    cdef Task** deferred = NULL
    cdef Py_ssize_t n = 0
    cdef int nthreads, fd
    cdef Task* t
    cdef bytes result, dest_b
    cdef struct_stat st
    try:
        for j in range(njobs):
            tasks = task_lists[j]
            result = PyBytes_FromStringAndSize(NULL, 32 * len(tasks))
            results.append(result)
            for i in range(len(tasks)):
                offset, method, csize, usize, crc, dest, mode, sha, expected_size = tasks[i]
                dest_b = _fs(dest)
                if not isinstance(sha, bytes):
                    raise TypeError(f"expected_sha256 must be bytes, not {type(sha).__name__}")
                if method == 93:
                    zstd.append((j, i, (offset, method, csize, usize, crc, dest, mode, sha,
                                        expected_size)))
                    continue
                keep.append(dest_b)
                t = &arr[n]
                n += 1
                t.offset = offset
                t.method = method
                t.csize = csize
                t.usize = usize
                t.crc = crc
                t.dest = PyBytes_AS_STRING(dest_b)
                t.mode = mode
                # a digest of another length is a mismatch, as in the twin
                t.has_sha = 1 if len(sha) == 32 else (2 if len(sha) else 0)
                if t.has_sha == 1:
                    memcpy(t.expected, PyBytes_AS_STRING(sha), 32)
                t.expected_size = expected_size
                t.state = 0
                t.need = 0
                t.job = <int>j
                t.index = <int>i
                t.digest = <unsigned char*>PyBytes_AS_STRING(result) + 32 * i

        # every argument is checked before any archive is opened (as in the twin)
        nthreads = _n_threads(threads, <size_t>n)
        for j in range(njobs):
            if not task_lists[j]:
                continue
            fd = open(PyBytes_AS_STRING(_fs(archives[j])), O_RDONLY | O_CLOEXEC)
            if fd < 0:
                raise CoreFailure("io", j, 0, errno, archives[j])
            fds[j] = fd
            if fstat(fd, &st) != 0:
                raise CoreFailure("io", j, 0, errno, archives[j])
            sizes[j] = st.st_size
        for i in range(n):
            arr[i].fd = fds[arr[i].job]
            arr[i].archive_size = sizes[arr[i].job]
        workers = <Worker*>malloc(<size_t>nthreads * sizeof(Worker))
        if workers == NULL:
            raise MemoryError()
        for i in range(nthreads):
            workers[i] = Worker(sh=NULL, inbuf=NULL, incap=0, outbuf=NULL, outcap=0,
                                inflater=NULL, zs=NULL, md=NULL, thread=0, started=0)
        deferred = <Task**>malloc(<size_t>(n if n else 1) * sizeof(Task*))
        if deferred == NULL:
            raise MemoryError()
        memset(&sh, 0, sizeof(Shared))
        sh.tasks = arr
        sh.ntasks = <size_t>n
        sh.budget = _whole_budget
        sh.deferred = deferred
        pthread_mutex_init(&sh.lock, NULL)
        with nogil:
            qsort(arr, <size_t>n, sizeof(Task), _cmp_tasks)
            _run_pool(&sh, workers, nthreads, _extract_worker)
        pthread_mutex_destroy(&sh.lock)
        if sh.failed:
            j = sh.fail_job
            i = sh.fail_index
            detail = archives[j] if sh.fail_on_source else task_lists[j][i][5]
            raise CoreFailure(_KIND_NAMES[sh.fail_kind], j, i, sh.fail_errno, detail)

        # zstd members (rare): decompressed by the twin's code, same checks and errors
        zstd.sort(key=lambda jit: -jit[2][3])
        for j, i, task in zstd:
            try:
                digest = _core_py._do_task(fds[j], sizes[j], task)
            except _core_py._Fail as f:
                detail = archives[j] if f.on_archive else task[5]
                raise CoreFailure(f.kind, j, i, f.errno, detail) from None
            memcpy(PyBytes_AS_STRING(results[j]) + 32 * i, PyBytes_AS_STRING(digest), 32)
        return results
    finally:
        free(arr)
        free(workers)
        free(deferred)
        for fd in fds:
            if fd >= 0:
                _close(fd)


# --- directories ----------------------------------------------------------------------


def make_dirs(paths):
    """``mkdir`` each path in order (mode 0o777 less the umask); existing directories are fine.

    >>> make_dirs(["/stage/pkg", "/stage/pkg/sub"])
    """
    cdef list items = list(paths)
    cdef list encoded = [_fs(p) for p in items]
    cdef Py_ssize_t n = len(encoded), i, failed = -1
    cdef const char** cpaths = <const char**>malloc(<size_t>(n if n else 1) * sizeof(char*))
    cdef struct_stat st
    cdef int err = 0
    if cpaths == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            cpaths[i] = PyBytes_AS_STRING(encoded[i])
        with nogil:
            for i in range(n):
                if mkdir(cpaths[i], 0o777) == 0:
                    continue
                err = errno
                if err == EEXIST and stat(cpaths[i], &st) == 0 and S_ISDIR(st.st_mode):
                    continue
                failed = i
                break
        if failed >= 0:
            raise OSError(err, os.strerror(err), items[failed])
    finally:
        free(cpaths)


# --- links ----------------------------------------------------------------------------


cdef int _copy_fds(int src, int dst, Worker* w, bint small) noexcept nogil:
    """Copy ``src`` to ``dst`` from their offsets: copy_file_range, else read/write; 0 or -1.

    A ``small`` file goes straight to read/write: one read and one write beat
    copy_file_range's setup for the many small files of a wheel.
    """
    cdef ssize_t r
    while not small:
        r = copy_file_range(src, NULL, dst, NULL, MAX_IO, 0)
        if r > 0:
            continue
        if r == 0:
            return 0
        if errno == EINTR:
            continue
        if errno == EXDEV or errno == ENOSYS or errno == EINVAL or errno == EOPNOTSUPP:
            break
        return -1
    if _reserve(&w.inbuf, &w.incap, CHUNK) == NULL:
        fi_set_errno(ENOMEM)
        return -1
    while True:
        r = read(src, w.inbuf, CHUNK)
        if r < 0:
            if errno == EINTR:
                continue
            return -1
        if r == 0:
            return 0
        if _write_full(dst, w.inbuf, r) != 0:
            return -1


cdef int _link_one(Worker* w, const char* src, const char* dst, int how,
                   int* on_src) noexcept nogil:
    """Clone, hardlink or copy ``src`` to the new file ``dst``: 0, or -1 with errno."""
    cdef struct_stat st
    cdef int sfd, dfd, r, err
    on_src[0] = 0
    if how == 1:
        return link(src, dst)
    sfd = open(src, O_RDONLY | O_CLOEXEC)
    if sfd < 0:
        on_src[0] = 1
        return -1
    if fstat(sfd, &st) != 0:
        err = errno
        _close(sfd)
        fi_set_errno(err)
        on_src[0] = 1
        return -1
    # A copy or clone is a new file of the environment, made like any written file:
    # 0o666 or 0o777 and the umask, not the cache's read-only bits.
    dfd = _open_new(dst, 0o777 if st.st_mode & 0o111 else 0o666)
    if dfd < 0:
        err = errno
        _close(sfd)
        fi_set_errno(err)
        return -1
    if how == 0:
        r = ioctl(dfd, FICLONE, sfd)
    else:
        r = _copy_fds(sfd, dfd, w, st.st_size <= CHUNK)
    if r != 0:
        # our own new file: do not leave a partial copy behind
        err = errno
        _close(dfd)
        _close(sfd)
        unlink(dst)
        fi_set_errno(err)
        return -1
    _close(sfd)
    if _close(dfd) != 0:
        return -1
    return 0


# Links are handed out in runs of neighbours: the caller lists files directory by
# directory, and two threads creating entries in one directory only wait for each
# other on its lock (measured on tmpfs: 2 threads taking one pair at a time were
# 2.4x slower than 1 thread; in runs, they are faster).
cdef enum:
    LINK_RUN = 128


cdef void* _link_worker(void* arg) noexcept nogil:
    cdef Worker* w = <Worker*>arg
    cdef Shared* sh = w.sh
    cdef size_t i, end
    cdef int on_src = 0
    while not fi_load(&sh.stop):
        i = fi_fetch_add_n(&sh.next, LINK_RUN)
        if i >= sh.ntasks:
            break
        end = i + LINK_RUN if i + LINK_RUN < sh.ntasks else sh.ntasks
        while i < end and not fi_load(&sh.stop):
            if _link_one(w, sh.srcs[i], sh.dsts[i], sh.how, &on_src) != 0:
                _fail(sh, K_IO, 0, <int>i, errno, on_src)
            i += 1
    free(w.inbuf)
    return NULL


def link_files(pairs, int how, int threads):
    """Make each ``dst`` a clone, hard link or copy of its ``src``.

    A hard link shares the source's inode (and its mode); a clone or copy is a new
    file with mode 0o666, or 0o777 when the source has an execute bit, less the umask.

    >>> link_files([("/cache/tree/a.py", "/stage/a.py")], LINK_HARDLINK, 0)
    """
    if how not in (LINK_CLONE, LINK_HARDLINK, LINK_COPY):
        raise ValueError(f"unknown link mode {how!r}")
    cdef list items = [(s, d) for s, d in pairs]
    cdef list encoded = [(_fs(s), _fs(d)) for s, d in items]
    cdef Py_ssize_t n = len(items), i
    cdef const char** srcs = <const char**>malloc(<size_t>(n if n else 1) * sizeof(char*))
    cdef const char** dsts = <const char**>malloc(<size_t>(n if n else 1) * sizeof(char*))
    cdef Worker* workers = NULL
    cdef Shared sh
    cdef int nthreads
    try:
        if srcs == NULL or dsts == NULL:
            raise MemoryError()
        for i in range(n):
            srcs[i] = PyBytes_AS_STRING(encoded[i][0])
            dsts[i] = PyBytes_AS_STRING(encoded[i][1])
        nthreads = _n_threads(threads, <size_t>n)
        workers = <Worker*>malloc(<size_t>nthreads * sizeof(Worker))
        if workers == NULL:
            raise MemoryError()
        for i in range(nthreads):
            workers[i] = Worker(sh=NULL, inbuf=NULL, incap=0, outbuf=NULL, outcap=0,
                                inflater=NULL, zs=NULL, md=NULL, thread=0, started=0)
        memset(&sh, 0, sizeof(Shared))
        sh.ntasks = <size_t>n
        sh.srcs = srcs
        sh.dsts = dsts
        sh.how = how
        with nogil:
            _run_pool(&sh, workers, nthreads, _link_worker)
        if sh.failed:
            i = sh.fail_index
            raise CoreFailure("io", 0, i, sh.fail_errno, items[i][0 if sh.fail_on_source else 1])
    finally:
        free(srcs)
        free(dsts)
        free(workers)


# --- hashing --------------------------------------------------------------------------


def sha256_file(str path):
    """The hex SHA-256 of the file at ``path``.

    >>> sha256_file("/dev/null")
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    """
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
