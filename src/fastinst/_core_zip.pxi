# The zip central directory: read_central_directory. Included by _core.pyx.


def read_central_directory(str path):
    """Every entry of the zip archive at ``path``, in central-directory order.

    For example, ``read_central_directory("demo-1.0-py3-none-any.whl")[0][0]`` is
    the first member's name, ``'demo/__init__.py'``.
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


# Where a member's bytes lie at least (local header with the directory's name, then its
# data): two members' extents may not overlap. That is the layout of the classic zip
# bomb, many directory entries sharing one piece of data; no writer makes it.
cdef struct Extent:
    uint64_t start
    uint64_t end
    size_t index


cdef int _cmp_extents(const void* a, const void* b) noexcept nogil:
    cdef const Extent* x = <const Extent*>a
    cdef const Extent* y = <const Extent*>b
    if x.start != y.start:
        return -1 if x.start < y.start else 1
    return -1 if x.index < y.index else (1 if x.index > y.index else 0)


cdef list _parse_entries(const unsigned char* cd, uint64_t cd_size, uint64_t n_total,
                         uint64_t cd_offset, str path):
    cdef list entries = []
    cdef uint64_t pos = 0, end, i
    cdef uint64_t usize, csize, offset
    cdef unsigned int n, e, c
    cdef const unsigned char* h
    cdef str name
    # every entry takes 46 bytes of the directory at least: no more than that many
    cdef size_t cap = <size_t>(n_total if n_total < cd_size // 46 else cd_size // 46)
    cdef Extent* ext = <Extent*>malloc((cap if cap else 1) * sizeof(Extent))
    if ext == NULL:
        raise MemoryError()
    try:
        i = 0
        while i < n_total:
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
            if (offset > cd_offset or cd_offset - offset < 30 + n
                    or cd_offset - offset - 30 - n < csize):
                raise CorruptArchive(wheel=path, reason="entry offset out of range")
            entries.append((name, fi_le16(h + 10), fi_le16(h + 8), fi_le32(h + 16), csize, usize,
                            offset, fi_le32(h + 38)))
            ext[i].start = offset
            ext[i].end = offset + 30 + n + csize
            ext[i].index = <size_t>i
            pos = end
            i += 1
        if pos != cd_size:
            raise CorruptArchive(wheel=path, reason="entry count mismatch")
        _check_extents(ext, <size_t>n_total, entries, path)
    finally:
        free(ext)
    return entries


cdef _check_extents(Extent* ext, size_t n, list entries, str path):
    """Refuse members whose bytes overlap (sorted by offset once, if not in order yet)."""
    cdef size_t k
    cdef bint ordered = True
    for k in range(1, n):
        if ext[k].start < ext[k - 1].start:
            ordered = False
            break
    if not ordered:
        qsort(ext, n, sizeof(Extent), _cmp_extents)
    for k in range(1, n):
        if ext[k].start < ext[k - 1].end:
            raise CorruptArchive(
                wheel=path,
                reason=f"its data overlaps member {entries[ext[k].index][0]!r} "
                       "(the layout of a zip bomb)",
                member=entries[ext[k - 1].index][0],
            )


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
