# Directories, and the files of a cache entry's table: make_dirs, read_table,
# make_table and link_tree (hard links, clones and copies). Included by _core.pyx.
#
# A table is the packed list of an unpacked wheel's files, one row each: a fixed
# part of ROW_SIZE bytes (u64 size, i64 mtime_ns of the cached file, u8 key,
# u8 flags, u16 path length, 32 bytes sha256), then the path (UTF-8,
# "/"-separated, relative to its key's directory). The twin's ``ROW`` says the same.

from cpython.bytearray cimport PyByteArray_AS_STRING
from libc.errno cimport EMLINK, ENOENT, ENOTTY, EPERM
from libc.stdint cimport uintptr_t
from libc.stdlib cimport realloc
from posix.fcntl cimport O_DIRECTORY, openat
from posix.stat cimport mkdirat


def make_dirs(paths):
    """``mkdir`` each path in order (mode 0o777 less the umask); existing directories are fine.

    For example, ``make_dirs(["/stage/pkg", "/stage/pkg/sub"])``.
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


cdef int64_t* _counters(object counters, Py_ssize_t n) except? NULL:
    """The 8-byte counts of a ``bytearray`` of ``n`` of them (NULL for None)."""
    if counters is None:
        return NULL
    if not isinstance(counters, bytearray) or len(counters) != 8 * n:
        raise ValueError(f"counters needs {8 * n} bytes in a bytearray")
    if <uintptr_t>PyByteArray_AS_STRING(counters) % 8:
        raise ValueError("counters are not aligned")
    return <int64_t*>PyByteArray_AS_STRING(counters)


# --- tables -------------------------------------------------------------------------

FLAG_EXEC = 1
KEYS = NKEYS
SKIP_LISTED = ROW_SKIPPED
SKIP_UNLISTED = ROW_LEFT_OUT

_T_NAMES = ("", "table", "changed", "io")
_TABLE_PROBLEMS = (
    "", "truncated row", "bad key", "empty, absolute or NUL in path",
    "empty, '.' or '..' segment", "path is not UTF-8", "no directory for its key",
)


cdef int _utf8_ok(const unsigned char* p, size_t n) noexcept nogil:
    """Whether ``p[:n]`` is strict UTF-8 (as Python decodes it: no surrogates)."""
    cdef size_t i = 0, k, need
    cdef uint32_t c
    while i < n:
        c = p[i]
        if c < 0x80:
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            need = 1
            c &= 0x1F
        elif 0xE0 <= c <= 0xEF:
            need = 2
            c &= 0x0F
        elif 0xF0 <= c <= 0xF4:
            need = 3
            c &= 0x07
        else:
            return 0
        if n - i <= need:
            return 0
        for k in range(1, need + 1):
            if (p[i + k] & 0xC0) != 0x80:
                return 0
            c = (c << 6) | (p[i + k] & 0x3F)
        if need == 2 and (c < 0x800 or 0xD800 <= c <= 0xDFFF):
            return 0
        if need == 3 and (c < 0x10000 or c > 0x10FFFF):
            return 0
        i += need + 1
    return 1


cdef inline bint _ascii(const unsigned char* p, size_t n) noexcept nogil:
    """Whether ``p[:n]`` has no byte over 0x7F (8 bytes at a time)."""
    cdef size_t i = 0
    cdef uint64_t w, acc = 0
    while i + 8 <= n:
        memcpy(&w, p + i, 8)
        acc |= w
        i += 8
    while i < n:
        acc |= p[i]
        i += 1
    return (acc & 0x8080808080808080ULL) == 0


cdef int _path_problem(const unsigned char* p, size_t n) noexcept nogil:
    """0, or the index in _TABLE_PROBLEMS of why a table path may not be used."""
    cdef size_t start = 0, end, seg
    cdef const unsigned char* slash
    if n == 0 or p[0] == b"/" or memchr(p, 0, n) != NULL:
        return 3
    while True:  # each segment, found by memchr (a table's paths are checked per call)
        slash = <const unsigned char*>memchr(p + start, b"/", n - start)
        end = <size_t>(slash - p) if slash != NULL else n
        seg = end - start
        if seg == 0 or (seg == 1 and p[start] == b".") or (
                seg == 2 and p[start] == b"." and p[start + 1] == b"."):
            return 4
        if slash == NULL:
            break
        start = end + 1
    return 0 if _ascii(p, n) or _utf8_ok(p, n) else 5


cdef int _parse_table(const unsigned char* data, size_t size, TableJob* t,
                      size_t* bad) noexcept nogil:
    """Parse and check every row into ``t.rows`` (malloc'd); 0, or the problem
    (its row in ``bad``); -1: no memory."""
    cdef size_t pos = 0, n = 0, cap = 0
    cdef Row* rows = NULL
    cdef Row* grown
    cdef Row* r
    cdef int problem = 0
    t.rows = NULL
    t.n = 0
    t.longest = 0
    while pos < size:
        if n == cap:
            cap = cap * 2 if cap else 256
            grown = <Row*>realloc(rows, cap * sizeof(Row))
            if grown == NULL:
                free(rows)
                return -1
            rows = grown
        r = &rows[n]
        bad[0] = n
        if size - pos < ROW_SIZE:
            problem = 1
            break
        r.size = <int64_t>fi_le64(data + pos)
        r.mtime = <int64_t>fi_le64(data + pos + 8)
        r.key = data[pos + 16]
        r.flags = data[pos + 17]
        r.len = fi_le16(data + pos + 18)
        r.sha = data + pos + 20
        r.path = data + pos + ROW_SIZE
        pos += ROW_SIZE
        if size - pos < r.len:
            problem = 1
            break
        pos += r.len
        problem = 2 if r.key >= NKEYS else _path_problem(r.path, r.len)
        if problem:
            break
        if r.len > t.longest:
            t.longest = r.len
        n += 1
    if problem:
        free(rows)
        return problem
    t.rows = rows
    t.n = n
    return 0


cdef int _load_table(bytes table, TableJob* t, Py_ssize_t job=0) except -1:
    """Parse ``table`` into ``t`` (free ``t.rows`` after) or raise CoreFailure("table")."""
    cdef size_t bad = 0
    cdef int problem
    cdef const unsigned char* data = <const unsigned char*>PyBytes_AS_STRING(table)
    cdef size_t size = <size_t>PyBytes_GET_SIZE(table)
    with nogil:
        problem = _parse_table(data, size, t, &bad)
    if problem == -1:
        raise MemoryError()
    if problem:
        raise CoreFailure("table", job, bad, 0, _TABLE_PROBLEMS[problem])
    return 0


def read_table(bytes table):
    """The rows of a packed table, checked; `CoreFailure` ``"table"`` names a bad one.

    Each row is ``(key, path, size, mtime_ns, flags, sha256)``.

    >>> read_table(b"")
    []
    """
    cdef TableJob t
    cdef size_t i
    cdef Row* r
    memset(&t, 0, sizeof(TableJob))
    _load_table(table, &t)
    try:
        out = []
        for i in range(t.n):
            r = &t.rows[i]
            out.append((r.key, PyUnicode_DecodeUTF8(<const char*>r.path, <Py_ssize_t>r.len, NULL),
                        r.size, r.mtime, r.flags,
                        PyBytes_FromStringAndSize(<const char*>r.sha, 32)))
        return out
    finally:
        free(t.rows)


# --- the worker pool of the table calls -----------------------------------------------


cdef void _table_fail(TableJob* j, int kind, size_t index, int err, int on_source) noexcept nogil:
    """Record the first failure of the call; later ones are dropped."""
    fi_set(&j.stop)
    if fi_claim(&j.failed):
        j.fail_kind = kind
        j.fail_index = index
        j.fail_errno = err
        j.fail_on_source = on_source


cdef void _run_table_pool(TableJob* j, TableWorker* workers, int n,
                          void* (*fn)(void*) noexcept nogil) noexcept nogil:
    """Run ``fn`` on ``n`` workers: this thread is worker 0, the others are pthreads
    (if a thread cannot be started, the others do its share)."""
    cdef int k
    for k in range(n):
        workers[k].job = j
    for k in range(1, n):
        workers[k].started = pthread_create(&workers[k].thread, NULL, fn, &workers[k]) == 0
    fn(&workers[0])
    for k in range(1, n):
        if workers[k].started:
            pthread_join(workers[k].thread, NULL)


cdef TableWorker* _table_workers(TableJob* j, int n) except NULL:
    """``n`` workers with path buffers for the job's longest paths."""
    cdef TableWorker* workers = <TableWorker*>calloc(<size_t>n, sizeof(TableWorker))
    cdef int k
    if workers == NULL:
        raise MemoryError()
    for k in range(n):
        workers[k].src = <char*>malloc(j.bufsize)
        workers[k].dst = <char*>malloc(j.bufsize)
        workers[k].last = <char*>malloc(j.bufsize)
        if workers[k].src == NULL or workers[k].dst == NULL or workers[k].last == NULL:
            _free_workers(workers, n)
            raise MemoryError()
    return workers


cdef void _free_workers(TableWorker* workers, int n) noexcept:
    cdef int k
    if workers == NULL:
        return
    for k in range(n):
        free(workers[k].src)
        free(workers[k].dst)
        free(workers[k].last)
        free(workers[k].buf)
    free(workers)


cdef size_t _join(char* out, const char* base, size_t base_len, Row* r) noexcept nogil:
    """``out`` = base + "/" + path, NUL-terminated; its length."""
    memcpy(out, base, base_len)
    out[base_len] = b"/"
    memcpy(out + base_len + 1, r.path, r.len)
    out[base_len + 1 + r.len] = 0
    return base_len + 1 + r.len


cdef int _set_dirs(TableJob* j, list encoded, object dirs) except -1:
    """Fill ``j.<dirs>`` from 5 paths (or None); the buffer size grows to fit."""
    cdef int k
    cdef bytes b
    if len(dirs) != NKEYS:
        raise ValueError(f"every per-key argument needs {NKEYS} items")
    for k in range(NKEYS):
        item = dirs[k]
        if item is None:
            encoded.append(None)
            continue
        b = _fs(item)
        encoded.append(b)
        if <size_t>len(b) + j.longest + 2 > j.bufsize:
            j.bufsize = <size_t>len(b) + j.longest + 2
    return 0


# --- make_table -----------------------------------------------------------------------


cdef void* _stat_worker(void* arg) noexcept nogil:
    cdef TableWorker* w = <TableWorker*>arg
    cdef TableJob* j = w.job
    cdef size_t i, end
    cdef Row* r
    while not fi_load(&j.stop):
        i = fi_fetch_add_n(&j.next, LINK_RUN)
        if i >= j.n:
            break
        end = i + LINK_RUN if i + LINK_RUN < j.n else j.n
        while i < end and not fi_load(&j.stop):
            r = &j.rows[i]
            _join(w.src, j.sources[r.key], j.source_len[r.key], r)
            if fstatat(AT_FDCWD, w.src, &j.stats[i], AT_SYMLINK_NOFOLLOW) != 0:
                _table_fail(j, T_IO, i, errno, 1)
            elif not fi_is_reg(j.stats[i].st_mode):
                _table_fail(j, T_CHANGED, i, 0, 1)
            i += 1
    return NULL


cdef inline void _put64(unsigned char* p, uint64_t v) noexcept nogil:
    cdef int k
    for k in range(8):
        p[k] = <unsigned char>(v >> (8 * k))


def make_table(sources, rows, int threads, stamps=None):
    """Pack ``(key, path, flags, sha256)`` rows of the files below ``sources[key]``,
    with the size and modification time each file has now (``lstat``, in parallel),
    or those in ``stamps`` (16 bytes per row, as `extract` gives them: no ``lstat``).

    >>> make_table(["/cache/e/purelib", None, None, None, None], [], 0)
    b''
    """
    cdef list items = list(rows)
    cdef size_t n = <size_t>len(items), i, total = 0
    cdef list keep = []
    cdef list src_b = []
    cdef bytes path_b
    cdef TableJob job
    cdef TableWorker* workers = NULL
    cdef int nthreads = 0, k, problem
    cdef unsigned char* o
    cdef bytes result
    cdef const unsigned char* known = NULL
    memset(&job, 0, sizeof(TableJob))
    _n_threads(threads, 1)
    if stamps is not None:
        if not isinstance(stamps, bytes) or len(stamps) != 16 * len(items):
            raise ValueError("stamps needs 16 bytes per row")
        known = <const unsigned char*>PyBytes_AS_STRING(stamps)
    job.rows = <Row*>calloc(n if n else 1, sizeof(Row))
    job.stats = <struct_stat*>calloc(n if n else 1, sizeof(struct_stat))
    try:
        if job.rows == NULL or job.stats == NULL:
            raise MemoryError()
        for i in range(n):
            key, path, flags, sha = items[i]
            if not isinstance(sha, bytes):
                raise TypeError(f"sha256 must be bytes, not {type(sha).__name__}")
            path_b = path.encode("utf-8")
            keep.append(path_b)
            keep.append(sha)
            problem = 2 if not 0 <= key < NKEYS else 0
            if not problem:
                problem = _path_problem(<const unsigned char*>PyBytes_AS_STRING(path_b),
                                        <size_t>len(path_b))
            if not problem and len(path_b) > 0xFFFF:
                problem = 3
            if problem:
                raise CoreFailure("table", 0, i, 0, _TABLE_PROBLEMS[problem])
            if len(sha) != 32:
                raise CoreFailure("table", 0, i, 0, "sha256 is not 32 bytes")
            if sources[key] is None:
                raise CoreFailure("table", 0, i, 0, _TABLE_PROBLEMS[6])
            job.rows[i].path = <const unsigned char*>PyBytes_AS_STRING(path_b)
            job.rows[i].len = <size_t>len(path_b)
            job.rows[i].sha = <const unsigned char*>PyBytes_AS_STRING(sha)
            job.rows[i].key = key
            job.rows[i].flags = flags & 0xFF
            if job.rows[i].len > job.longest:
                job.longest = job.rows[i].len
            total += ROW_SIZE + job.rows[i].len
        job.n = n
        _set_dirs(&job, src_b, sources)
        for k in range(NKEYS):
            if src_b[k] is not None:
                job.sources[k] = PyBytes_AS_STRING(src_b[k])
                job.source_len[k] = <size_t>len(src_b[k])
        if known == NULL:
            nthreads = _n_threads(threads, n)
            workers = _table_workers(&job, nthreads)
            with nogil:
                _run_table_pool(&job, workers, nthreads, _stat_worker)
        if job.failed:
            i = job.fail_index
            raise CoreFailure(_T_NAMES[job.fail_kind], 0, i, job.fail_errno,
                              f"{sources[items[i][0]]}/{items[i][1]}")
        result = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>total)
        o = <unsigned char*>PyBytes_AS_STRING(result)
        with nogil:
            for i in range(n):
                if known != NULL:
                    memcpy(o, known + 16 * i, 16)
                else:
                    _put64(o, <uint64_t>job.stats[i].st_size)
                    _put64(o + 8, <uint64_t>fi_mtime_ns(&job.stats[i]))
                o[16] = <unsigned char>job.rows[i].key
                o[17] = <unsigned char>job.rows[i].flags
                o[18] = <unsigned char>(job.rows[i].len & 0xFF)
                o[19] = <unsigned char>(job.rows[i].len >> 8)
                memcpy(o + 20, job.rows[i].sha, 32)
                memcpy(o + ROW_SIZE, job.rows[i].path, job.rows[i].len)
                o += ROW_SIZE + job.rows[i].len
        return result
    finally:
        _free_workers(workers, nthreads)
        free(job.rows)
        free(job.stats)


# --- link_tree ------------------------------------------------------------------------


cdef int _make_parent(TableWorker* w, int tfd, size_t dlen) noexcept nogil:
    """Make the directory of the file ``w.dst`` (``dlen`` bytes, relative to the
    target directory ``tfd``, which exists) with its missing parents; 0 or -1
    (errno). The rows of a directory are neighbours in the table, so the
    directory made last is remembered: a row in the same directory needs no
    system call, and a row in another one only ``mkdir`` for each level below
    what the two share (which exists)."""
    cdef char* d = w.dst
    cdef size_t end = dlen, known = 0, k
    while end > 0 and d[end - 1] != b"/":
        end -= 1
    if end == 0:
        return 0  # in the target directory itself
    end -= 1  # d[end] is the "/" before the file name
    if w.last_fd != tfd:
        w.last_fd = tfd
        w.last_len = 0
    elif end == w.last_len and memcmp(d, w.last, end) == 0:
        return 0
    # the longest directory both have: it exists, as every parent of the last does
    while known < end and known < w.last_len and d[known] == w.last[known]:
        known += 1
    if not ((known == end or d[known] == b"/") and (known == w.last_len or w.last[known] == b"/")):
        # they part within a name: what they share ends at the "/" before it
        while known > 0:
            known -= 1
            if d[known] == b"/":
                break
    k = known + 1
    while k <= end:
        if k == end or d[k] == b"/":
            d[k] = 0
            if mkdirat(tfd, d, 0o777) != 0 and errno != EEXIST:
                d[k] = b"/"
                return -1
            d[k] = b"/"
        k += 1
    memcpy(w.last, d, end)
    w.last_len = end
    return 0


cdef int _copy_into(TableWorker* w, int sfd, int dfd, int64_t size) noexcept nogil:
    """Copy ``size`` bytes from ``sfd`` to ``dfd``: ``copy_file_range`` (one call for
    most files, and the kernel moves the pages itself: a fifth less CPU than read
    and write on tmpfs), else, where the filesystems cannot, read/write; 0 or -1
    (errno)."""
    cdef ssize_t r
    cdef int64_t left = size
    while not w.plain_copy and left > 0:
        r = copy_file_range(sfd, NULL, dfd, NULL, <size_t>(left if left < MAX_IO else MAX_IO), 0)
        if r > 0:
            left -= r
            continue
        if r == 0:
            break  # the file shrank under us (read finds out), or a filesystem that says 0
        if errno == EINTR:
            continue
        if errno == EXDEV or errno == ENOSYS or errno == EINVAL or errno == EOPNOTSUPP:
            w.plain_copy = 1  # not between these filesystems: no use asking again
            break
        return -1
    if left == 0:
        return 0
    if w.buf == NULL:
        w.buf = <unsigned char*>malloc(CHUNK)
        if w.buf == NULL:
            fi_set_errno(ENOMEM)
            return -1
    while left > 0:
        r = read(sfd, w.buf, CHUNK if left > CHUNK else <size_t>left)
        if r < 0:
            if errno == EINTR:
                continue
            return -1
        if r == 0:
            fi_set_errno(EIO)
            return -1
        if _write_full(dfd, w.buf, r) != 0:
            return -1
        left -= r
    return 0


cdef inline bint _unchanged(struct_stat* st, Row* r, unsigned int euid) noexcept nogil:
    """Whether a cached file is the one its row describes: a regular file of the
    row's size and modification time, owned by whoever installs and writable by no
    one (fastinst makes every cached file read-only: one with a write bit, or
    another owner, was put there or changed since)."""
    return (fi_is_reg(st.st_mode) and st.st_size == r.size and fi_mtime_ns(st) == r.mtime
            and st.st_uid == euid and (st.st_mode & 0o222) == 0)


cdef int _copy_row(TableWorker* w, Row* r, int sfd, int tfd, int how,
                   int* copied) noexcept nogil:
    """Clone or copy the cached file ``w.dst`` below ``sfd`` into the new file
    ``w.dst`` below ``tfd``, after checking it against its row; T_OK, or the
    failure kind (errno set)."""
    cdef struct_stat st
    cdef int src, dst, err, res
    while True:
        src = openat(sfd, w.dst, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if src >= 0 or errno != EINTR:
            break
    if src < 0:
        return T_CHANGED  # gone, or a symlink (ELOOP)
    if fstat(src, &st) != 0 or not _unchanged(&st, r, w.job.euid):
        _close(src)
        fi_set_errno(0)
        return T_CHANGED
    # A copy or clone is a new file of the environment, made like any written file:
    # 0o666 or 0o777 and the umask, not the cache's read-only bits.
    while True:
        dst = openat(tfd, w.dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0o777 if r.flags & 1 else 0o666)
        if dst >= 0 or errno != EINTR:
            break
    if dst < 0:
        err = errno
        _close(src)
        fi_set_errno(err)
        return T_IO
    res = -1
    if how == 0:
        res = ioctl(dst, FICLONE, src)
        if res != 0 and (errno == EXDEV or errno == EOPNOTSUPP or errno == EINVAL
                         or errno == ENOTTY):
            copied[0] = 1
            how = 2
    if how != 0:
        res = _copy_into(w, src, dst, r.size)
    err = errno
    _close(src)
    if res != 0:
        _close(dst)
        unlinkat(tfd, w.dst, 0)  # our own new file: leave no partial copy behind
        fi_set_errno(err)
        return T_IO
    if _close(dst) != 0:
        return T_IO
    return T_OK


cdef int _link_row(TableWorker* w, Row* r, int sfd, int tfd, int how,
                   int* copied) noexcept nogil:
    """Hard link, clone or copy one cached file (``w.dst`` below ``sfd``) to
    ``w.dst`` below ``tfd`` after checking it; T_OK or a failure."""
    cdef struct_stat st
    copied[0] = 0
    if how != 1:
        return _copy_row(w, r, sfd, tfd, how, copied)
    if fstatat(sfd, w.dst, &st, AT_SYMLINK_NOFOLLOW) != 0:
        return T_CHANGED
    if not _unchanged(&st, r, w.job.euid):
        fi_set_errno(0)
        return T_CHANGED
    if linkat(sfd, w.dst, tfd, w.dst, 0) == 0:
        return T_OK
    if errno == EMLINK or errno == EXDEV or errno == EPERM:
        copied[0] = 1
        return _copy_row(w, r, sfd, tfd, 2, copied)
    return T_IO


cdef void _pool_fail(LinkPool* p, int kind, size_t job, size_t index, int err,
                     int on_source) noexcept nogil:
    """Record the first failure of the call; later ones are dropped."""
    fi_set(&p.stop)
    if fi_claim(&p.failed):
        p.fail_kind = kind
        p.fail_job = job
        p.fail_index = index
        p.fail_errno = err
        p.fail_on_source = on_source


cdef void _link_unit(TableWorker* w, LinkPool* p, size_t u) noexcept nogil:
    """Link the rows of unit ``u``."""
    cdef TableJob* j = &p.jobs[p.unit_job[u]]
    cdef size_t i = p.unit_start[u]
    cdef size_t end = i + LINK_RUN if i + LINK_RUN < j.n else j.n
    cdef int kind, copied = 0, tfd
    cdef unsigned char* text
    cdef Row* r
    w.job = j
    while i < end and not fi_load(&p.stop):
        r = &j.rows[i]
        if j.skip != NULL and j.skip[i]:
            i += 1
            continue
        memcpy(w.dst, r.path, r.len)
        w.dst[r.len] = 0
        tfd = j.target_fd[r.key]
        if _make_parent(w, tfd, r.len) != 0:
            _pool_fail(p, T_IO, p.unit_job[u], i, errno, 0)
            return
        kind = _link_row(w, r, j.source_fd[r.key], tfd, j.how[r.key], &copied)
        if kind != T_OK:
            _pool_fail(p, kind, p.unit_job[u], i, errno, kind == T_CHANGED)
            return
        if copied:
            fi_fetch_add_n(&j.copies, 1)
        if j.counter != NULL:
            fi_add64(j.counter, r.size)
        i += 1
    if i < end:
        return
    # The unit's RECORD text, here rather than after the pool: on the calling
    # thread alone, the text of 14,000 rows was a tenth of a warm install's wall.
    i = p.unit_start[u]
    text = <unsigned char*>malloc(_record_bound(j, i, end) + 1)
    if text == NULL:
        _pool_fail(p, T_IO, p.unit_job[u], i, ENOMEM, 0)
        return
    p.unit_text[u] = text
    p.unit_len[u] = <size_t>(_record_text(j, i, end, text) - text)


cdef void* _link_worker(void* arg) noexcept nogil:
    """Claim and link units until none is left. The units list each table's
    rows in order, so neighbouring units are neighbouring directories, and two
    threads creating entries in one directory wait for each other on its lock.
    So each pair of workers has a stretch of the units: one walks it from its
    start, the other from its end, and only where they meet do they work side by
    side; a worker that finds its stretch done goes on, the same way, into the
    others' (taking what is still unclaimed), so none idles while work is left."""
    cdef TableWorker* w = <TableWorker*>arg
    cdef LinkPool* p = w.pool
    cdef size_t n = p.nunits, stretches = <size_t>(p.nworkers + 1) // 2
    cdef size_t k = <size_t>w.index // 2, u, seen
    cdef bint back = w.index % 2 == 1
    w.last_len = 0
    w.last_fd = -1
    if n == 0:
        return NULL
    u = (k + 1) * n // stretches - 1 if back else k * n // stretches
    for seen in range(n):
        if fi_load(&p.stop):
            break
        if not fi_load(&p.claimed[u]) and fi_claim(&p.claimed[u]):
            _link_unit(w, p, u)
        u = (u + n - 1) % n if back else (u + 1) % n
    return NULL


# --- RECORD text ----------------------------------------------------------------------


# Per byte: 1 when a RECORD field holding it needs quotes (``,``, line breaks), 3 for
# ``"`` (it also counts: 3 >> 1), else 0.
cdef unsigned char _QUOTING[256]
memset(_QUOTING, 0, 256)
_QUOTING[ord(",")] = 1
_QUOTING[ord("\n")] = 1
_QUOTING[ord("\r")] = 1
_QUOTING[ord('"')] = 3


cdef size_t _quotes_needed(const unsigned char* p, size_t n, size_t* quotes) noexcept nogil:
    """Whether a RECORD field needs quoting (``,``, ``"``, line breaks), and its ``"`` count."""
    cdef size_t i, need = 0, count = 0
    cdef unsigned char v
    for i in range(n):  # without a branch per byte
        v = _QUOTING[p[i]]
        need |= v
        count += v >> 1
    quotes[0] += count
    return need & 1


cdef size_t _record_bound(TableJob* j, size_t a, size_t b) noexcept nogil:
    """At least the length of the RECORD text of rows ``a`` to ``b`` (a field that
    is quoted at most doubles, and a size has at most 20 digits)."""
    cdef size_t i, total = 0
    cdef Row* r
    for i in range(a, b):
        if j.skip != NULL and j.skip[i] == ROW_LEFT_OUT:
            continue
        r = &j.rows[i]
        # quotes, path, ",sha256=", 43 characters of base64, ",", size, "\n"
        total += 2 + 2 * (j.prefix_len[r.key] + r.len) + 8 + 43 + 1 + 20 + 1
    return total


cdef unsigned char* _put_field(unsigned char* o, const unsigned char* p, size_t n,
                               bint quoted) noexcept nogil:
    cdef size_t i
    if not quoted:
        memcpy(o, p, n)
        return o + n
    for i in range(n):
        o[0] = p[i]
        o += 1
        if p[i] == b'"':
            o[0] = b'"'
            o += 1
    return o


cdef unsigned char* _record_text(TableJob* j, size_t a, size_t b,
                                 unsigned char* o) noexcept nogil:
    """Write the RECORD rows of rows ``a`` to ``b`` at ``o`` (room: _record_bound);
    the end of what was written."""
    cdef size_t i, k, quotes
    cdef bint quoted
    cdef uint32_t v
    cdef uint64_t size
    cdef const unsigned char* s
    cdef unsigned char digits[24]
    cdef Row* r
    for i in range(a, b):
        if j.skip != NULL and j.skip[i] == ROW_LEFT_OUT:
            continue
        r = &j.rows[i]
        quotes = 0
        quoted = _quotes_needed(r.path, r.len, &quotes) or j.prefix_quote[r.key]
        if quoted:
            o[0] = b'"'
            o += 1
        o = _put_field(o, <const unsigned char*>j.prefixes[r.key], j.prefix_len[r.key], quoted)
        o = _put_field(o, r.path, r.len, quoted)
        if quoted:
            o[0] = b'"'
            o += 1
        memcpy(o, b",sha256=", 8)
        o += 8
        s = r.sha
        for k in range(10):
            v = (<uint32_t>s[0] << 16) | (<uint32_t>s[1] << 8) | s[2]
            o[0] = fi_b64url[(v >> 18) & 63]
            o[1] = fi_b64url[(v >> 12) & 63]
            o[2] = fi_b64url[(v >> 6) & 63]
            o[3] = fi_b64url[v & 63]
            o += 4
            s += 3
        v = (<uint32_t>s[0] << 16) | (<uint32_t>s[1] << 8)
        o[0] = fi_b64url[(v >> 18) & 63]
        o[1] = fi_b64url[(v >> 12) & 63]
        o[2] = fi_b64url[(v >> 6) & 63]
        o[3] = b","
        o += 4
        size = <uint64_t>r.size
        k = 0
        while True:
            digits[k] = <unsigned char>(48 + size % 10)  # "0" + digit
            k += 1
            size //= 10
            if size == 0:
                break
        while k > 0:
            k -= 1
            o[0] = digits[k]
            o += 1
        o[0] = b"\n"
        o += 1
    return o


def link_tree(bytes table, sources, targets, prefixes, how, int threads,
              skip=None, counter=None):
    """Put every file of ``table`` at ``targets[key]/path``, from ``sources[key]/path``:
    `link_trees` of one job (its failures name job 0)."""
    return link_trees([(table, sources, targets, prefixes, how, skip)], threads, counter)[0]


cdef int _set_link_job(TableJob* t, object spec, list keep, Py_ssize_t index) except -1:
    """Fill ``t`` from one job of `link_trees` (its encoded strings go to ``keep``)."""
    cdef int k
    cdef size_t i
    cdef list src_b = [], dst_b = [], pre_b = []
    table, sources, targets, prefixes, how, skip = spec
    if not isinstance(table, bytes):
        raise TypeError(f"a table must be bytes, not {type(table).__name__}")
    keep.append(table)
    _load_table(table, t, index)
    _set_dirs(t, src_b, sources)
    _set_dirs(t, dst_b, targets)
    if len(prefixes) != NKEYS or len(how) != NKEYS:
        raise ValueError(f"every per-key argument needs {NKEYS} items")
    for k in range(NKEYS):
        if how[k] not in (LINK_CLONE, LINK_HARDLINK, LINK_COPY):
            raise ValueError(f"unknown link mode {how[k]!r}")
        t.how[k] = how[k]
        pre_b.append(prefixes[k].encode("utf-8"))
        t.prefixes[k] = PyBytes_AS_STRING(pre_b[k])
        t.prefix_len[k] = <size_t>len(pre_b[k])
        t.prefix_quote[k] = <int>_quotes_needed(
            <const unsigned char*>t.prefixes[k], t.prefix_len[k], &t.prefix_quotes[k])
        if src_b[k] is not None:
            t.sources[k] = PyBytes_AS_STRING(src_b[k])
            t.source_len[k] = <size_t>len(src_b[k])
        if dst_b[k] is not None:
            t.targets[k] = PyBytes_AS_STRING(dst_b[k])
            t.target_len[k] = <size_t>len(dst_b[k])
    keep.extend((src_b, dst_b, pre_b))
    if skip is not None:
        if not isinstance(skip, bytes) or <size_t>len(skip) != t.n:
            raise ValueError("skip needs one byte per row")
        keep.append(skip)
        t.skip = <const unsigned char*>PyBytes_AS_STRING(skip)
    for i in range(t.n):
        if t.sources[t.rows[i].key] == NULL or t.targets[t.rows[i].key] == NULL:
            raise CoreFailure("table", index, i, 0, _TABLE_PROBLEMS[6])
    for k in range(NKEYS):
        t.source_fd[k] = -1
        t.target_fd[k] = -1
    t.euid = geteuid()
    return 0


cdef int _open_dir(const char* path) noexcept nogil:
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)


cdef int _open_link_dirs(LinkPool* p, list fds) except -1:
    """Open each job's cached and target directory of every key that has rows
    to link (a target once, whichever jobs share it); their descriptors go to
    ``fds``, to be closed. A directory that cannot be opened is the failure of
    the first row below it (an entry's missing directory is a damaged entry)."""
    cdef dict targets = {}
    cdef size_t job, i
    cdef int k, fd
    cdef TableJob* t
    cdef size_t first[NKEYS]
    for job in range(p.njobs):
        t = &p.jobs[job]
        for k in range(NKEYS):
            first[k] = t.n
        for i in range(t.n):
            if (t.skip == NULL or not t.skip[i]) and first[t.rows[i].key] == t.n:
                first[t.rows[i].key] = i
        for k in range(NKEYS):
            if first[k] == t.n:
                continue
            fd = _open_dir(t.sources[k])
            if fd < 0:
                _pool_fail(p, T_CHANGED, job, first[k], errno, 1)
                return 0
            fds.append(fd)
            t.source_fd[k] = fd
            name = PyBytes_FromStringAndSize(t.targets[k], <Py_ssize_t>t.target_len[k])
            fd = targets.get(name, -1)
            if fd < 0:
                fd = _open_dir(t.targets[k])
                if fd < 0:
                    _pool_fail(p, T_IO, job, first[k], errno, 0)
                    return 0
                fds.append(fd)
                targets[name] = fd
            t.target_fd[k] = fd
    return 0


cdef object _tops(TableJob* j):
    """The top-level names of the rows linked below each target, in table order."""
    cdef size_t i, n_tops, last_len = 0
    cdef const unsigned char* last_top = NULL
    cdef int last_key = -1
    cdef Row* r
    tops = [[] for _ in range(NKEYS)]
    for i in range(j.n):
        r = &j.rows[i]
        if j.skip != NULL and j.skip[i]:
            continue
        n_tops = 0
        while n_tops < r.len and r.path[n_tops] != b"/":
            n_tops += 1
        if r.key == last_key and n_tops == last_len and memcmp(r.path, last_top, n_tops) == 0:
            continue
        last_key = r.key
        last_top = r.path
        last_len = n_tops
        name = PyUnicode_DecodeUTF8(<const char*>r.path, <Py_ssize_t>n_tops, NULL)
        if name not in tops[r.key]:
            tops[r.key].append(name)
    return tops


def link_trees(jobs, int threads, counters=None):
    """Put every file of every job's table at ``targets[key]/path``, from
    ``sources[key]/path``, all jobs on one pool of threads.

    Each job is ``(table, sources, targets, prefixes, how, skip)``: per key, the
    cached directory, the target directory (made, with the directories below
    it, as needed), the prefix of the key's paths in RECORD, and the link mode
    (`LINK_CLONE`, `LINK_HARDLINK`, `LINK_COPY`); ``skip`` is None or a byte per
    row. Each cached file is first checked against its row: a regular file
    (never a symlink: opened with ``O_NOFOLLOW``) of the row's size and
    modification time, owned by the effective user and writable by no one, else
    `CoreFailure` ``"changed"`` (the cache was edited, for instance through a
    hardlink in an environment). A refused hardlink (``EMLINK``, ``EXDEV``,
    ``EPERM``) or clone is replaced by a copy of that file. Rows whose ``skip``
    byte is `SKIP_LISTED` are not linked but are listed in RECORD (a later wheel
    writes that file); `SKIP_UNLISTED`, neither linked nor listed. ``counters``
    (8 bytes, little-endian, per job) grow by each file's size once it is
    linked, for another thread to poll.

    Every table is checked before anything is linked. The threads take runs of
    neighbouring rows, each from its own place in the list of every job's runs
    (two threads: one from the start, one from the end), so that they seldom
    create entries in one directory at once, and all stay busy to the end.

    Returns, per job, the RECORD text of its rows (in table order), the
    top-level names made below each target, and how many files were copied
    instead of linked. Failures raise `CoreFailure` (``"table"``, ``"changed"``,
    ``"io"``) with the job's and the row's index and the path.
    """
    cdef list specs = list(jobs)
    cdef size_t njobs = <size_t>len(specs), k, u, run, bufsize = 0, total = 0, size
    cdef LinkPool pool
    cdef TableWorker* workers = NULL
    cdef int nthreads = 0, w
    cdef int64_t* counted
    cdef list keep = [], fds = []
    cdef bytes record
    cdef unsigned char* text
    cdef TableJob* t
    cdef Row* r
    if njobs == 0:
        return []
    memset(&pool, 0, sizeof(LinkPool))
    pool.jobs = <TableJob*>calloc(njobs, sizeof(TableJob))
    if pool.jobs == NULL:
        raise MemoryError()
    try:
        pool.njobs = njobs
        for k in range(njobs):
            _set_link_job(&pool.jobs[k], specs[k], keep, <Py_ssize_t>k)
            pool.nunits += (pool.jobs[k].n + LINK_RUN - 1) // LINK_RUN
            if pool.jobs[k].bufsize > bufsize:
                bufsize = pool.jobs[k].bufsize
        counted = _counters(counters, <Py_ssize_t>njobs)
        if counted != NULL:
            for k in range(njobs):
                pool.jobs[k].counter = counted + k
        pool.unit_job = <size_t*>malloc((pool.nunits if pool.nunits else 1) * sizeof(size_t))
        pool.unit_start = <size_t*>malloc((pool.nunits if pool.nunits else 1) * sizeof(size_t))
        if pool.unit_job == NULL or pool.unit_start == NULL:
            raise MemoryError()
        pool.claimed = <int*>calloc(pool.nunits if pool.nunits else 1, sizeof(int))
        pool.unit_text = <unsigned char**>calloc(pool.nunits if pool.nunits else 1,
                                                 sizeof(unsigned char*))
        pool.unit_len = <size_t*>calloc(pool.nunits if pool.nunits else 1, sizeof(size_t))
        if pool.claimed == NULL or pool.unit_text == NULL or pool.unit_len == NULL:
            raise MemoryError()
        u = 0
        for k in range(njobs):  # each job's runs in table order
            for run in range(0, pool.jobs[k].n, LINK_RUN):
                pool.unit_job[u] = k
                pool.unit_start[u] = run
                u += 1
            total += pool.jobs[k].n
        _open_link_dirs(&pool, fds)
        nthreads = _n_threads(threads, total)
        pool.nworkers = nthreads
        pool.jobs[0].bufsize = bufsize  # the workers' buffers fit every job's paths
        workers = _table_workers(&pool.jobs[0], nthreads)
        for w in range(nthreads):
            workers[w].pool = &pool
            workers[w].index = w
        if not pool.failed:
            with nogil:
                _run_table_pool(&pool.jobs[0], workers, nthreads, _link_worker)
        if pool.failed:
            t = &pool.jobs[pool.fail_job]
            r = &t.rows[pool.fail_index]
            spec = specs[pool.fail_job]
            where = spec[1][r.key] if pool.fail_on_source else spec[2][r.key]
            path = PyUnicode_DecodeUTF8(<const char*>r.path, <Py_ssize_t>r.len, NULL)
            raise CoreFailure(_T_NAMES[pool.fail_kind], pool.fail_job, pool.fail_index,
                              pool.fail_errno, f"{where}/{path}")
        out = []
        u = 0
        for k in range(njobs):  # each job's text: its units' texts, in order
            t = &pool.jobs[k]
            size = 0
            for run in range(u, u + (t.n + LINK_RUN - 1) // LINK_RUN):
                size += pool.unit_len[run]
            record = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>size)
            text = <unsigned char*>PyBytes_AS_STRING(record)
            for run in range(0, t.n, LINK_RUN):
                memcpy(text, pool.unit_text[u], pool.unit_len[u])
                text += pool.unit_len[u]
                u += 1
            out.append((record, _tops(t), t.copies))
        return out
    finally:
        _free_workers(workers, nthreads)
        for k in range(njobs):
            free(pool.jobs[k].rows)
        free(pool.jobs)
        free(pool.unit_job)
        free(pool.unit_start)
        free(pool.claimed)
        if pool.unit_text != NULL:
            for u in range(pool.nunits):
                free(pool.unit_text[u])
        free(pool.unit_text)
        free(pool.unit_len)
        for fd in fds:
            close(fd)
