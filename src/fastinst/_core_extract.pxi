# Extraction: inflate, CRC-32, SHA-256 and write of members on the worker pool,
# whole or streamed, in bounded memory. Included by _core.pyx.

from cpython.bytearray cimport PyByteArray_AS_STRING


# Memory: each worker keeps buffers for members up to SMALL_MEMBER bytes (input plus
# output), inflated whole by libdeflate (the fastest here, but it cannot stream).
# With ISA-L, every bigger member is streamed through it in CHUNK pieces, as fast as
# libdeflate: SMALL_MEMBER is 1 MB and _stream_min 0, so a worker holds about 2 MB.
# Measured on the corpus (core alone, 2 threads, tmpfs): peak RSS 33 MB against 40
# MB with 4 MB buffers, and 0.15 s less CPU than zlib streaming the 7 members over
# 4 MB (82 of its 371 MB; isal 0.32 s, zlib 0.48 s of CPU for those 7).
#
# Without ISA-L, streaming goes through zlib, about 2.5x slower: SMALL_MEMBER is
# 4 MB; a bigger member is inflated whole in buffers of its own, taken from a
# budget that all workers of one call share and freed right after; when the budget
# cannot cover it, or it is over _stream_min (4 MB), it is streamed. So the two 25
# MB libraries of the corpus do not cost 65 MB at once (measured then, in-process
# install: budget 40 MB / stream over 64 MB: peak 88 MB; 16/8: 66 MB; 8/4: 59 MB).
cdef int64_t _stream_min = FI_STREAM_MIN
cdef int64_t _whole_budget = 8 << 20


def _set_stream_threshold(n: int) -> int:
    """Set the size above which members are always streamed (tests); return the old one."""
    global _stream_min
    old = _stream_min
    _stream_min = n
    return old


# Streaming through ISA-L when the build has it; the tests ask for zlib too.
cdef int _use_isal = FI_STREAMER[0] == b"i"


def _set_streamer(name: str) -> str:
    """Stream through ``"isa-l"`` (if built with it) or ``"zlib"`` (tests); the old one."""
    global _use_isal
    if name not in ("zlib", STREAMER):
        raise ValueError(f"this build cannot stream through {name}")
    old = "isa-l" if _use_isal else "zlib"
    _use_isal = name == "isa-l"
    return old


def _set_memory_budget(n: int) -> int:
    """Set the shared budget for whole-buffer big members (tests); return the old one."""
    global _whole_budget
    old = _whole_budget
    _whole_budget = n
    return old


cdef enum:
    HASH_PIECE = 1 << 16  # fits in L2 between the CRC pass and the SHA-256 pass
    SMALL_MEMBER = FI_SMALL_MEMBER
    HEADER_SLACK = 512    # name + extra field of a local header, read with the data


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


cdef int _check_local(const Task* t, const unsigned char* head, int64_t start) noexcept nogil:
    """The checks of a local header that only the task can make (its name bytes are at
    ``head + 30``, its data at ``start``): the name is the directory's (a scanner reading
    the stream must see the file that is installed), and the data ends before the next
    member's header (the directory's check could not know the header's extra field)."""
    if fi_le16(head + 26) != t.name_len or memcmp(head + 30, t.name, <size_t>t.name_len) != 0:
        return K_NAME
    if t.csize > t.limit - start:
        return K_OVERLAP
    return K_OK


cdef int _data_start(const Task* t, int64_t* start) noexcept nogil:
    """Where a member's data starts (``*start``), after checking its local header:
    K_OK, a failure kind, or -K_IO (errno) when the archive cannot be read."""
    cdef unsigned char small[30 + 1024]
    cdef unsigned char* head = small
    cdef int64_t want = 30 + t.name_len, got
    cdef int r
    if t.name_len > 1024:
        head = <unsigned char*>malloc(<size_t>want)
        if head == NULL:
            fi_set_errno(ENOMEM)
            return K_IO
    got = _pread_full(t.fd, head, want, t.offset)
    if got < 0:
        r = -K_IO
    elif got < 30 or memcmp(head, b"PK\x03\x04", 4) != 0:
        r = K_HEADER
    else:
        start[0] = t.offset + 30 + fi_le16(head + 26) + fi_le16(head + 28)
        if start[0] > t.archive_size or t.csize > t.archive_size - start[0]:
            r = K_HEADER
        elif got < want:  # the name is longer than the space left: not ours
            r = K_NAME
        else:
            r = _check_local(t, head, start[0])
    if head != small:
        free(head)
    return r


cdef int _extract_one(Worker* w, Task* t) noexcept nogil:
    """Extract one member; K_OK, or the failure kind (errno is set for K_IO).

    An I/O error while reading the archive is returned as -K_IO (its path is the
    archive's, not the destination's).
    """
    cdef int64_t start, need
    cdef unsigned char* bin_ = NULL
    cdef unsigned char* bout = NULL
    cdef size_t bin_cap = 0, bout_cap = 0
    cdef int r, err
    if t.method == 93:
        return K_OK  # zstd: done by _zstd after the pool
    if t.method != 0 and t.method != 8:
        return K_METHOD
    if t.offset < 0 or t.csize < 0 or t.usize < 0:
        return K_HEADER
    need = t.usize + (t.csize if t.method == 8 else 0)
    if need <= SMALL_MEMBER and t.csize <= SMALL_MEMBER:
        return _extract_small(w, t)
    r = _data_start(t, &start)
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
    r = _check_local(t, p, t.offset + hl)
    if r != K_OK:
        return r
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


cdef int _stamp(const Task* t, int fd) noexcept nogil:
    """Size and modification time of the new file, once written, from its descriptor
    (what the cache's table records, without a second walk of its path): 0 or -1."""
    cdef struct_stat st
    cdef int k
    cdef uint64_t size, mtime
    if t.stamp == NULL:
        return 0
    if fstat(fd, &st) != 0:
        return -1
    size = <uint64_t>st.st_size
    mtime = <uint64_t>fi_mtime_ns(&st)
    for k in range(8):
        t.stamp[k] = <unsigned char>(size >> (8 * k))
        t.stamp[8 + k] = <unsigned char>(mtime >> (8 * k))
    return 0


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
    if _write_full(fd, data, t.usize) != 0 or _stamp(t, fd) != 0:
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
    cdef fi_stream* zs = w.zs
    cdef int64_t in_left = t.csize, pos = start, got
    cdef size_t n, produced, had
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
    fi_stream_input(zs, NULL, 0)
    while True:
        if fi_stream_avail_in(zs) == 0 and in_left > 0:
            n = <size_t>(in_left if in_left < CHUNK else CHUNK)
            got = _pread_full(t.fd, inp, <int64_t>n, pos)
            if got < 0:
                return -K_IO
            if got != <int64_t>n:
                return K_HEADER
            pos += got
            in_left -= got
            fi_stream_input(zs, inp, n)
        had = fi_stream_avail_in(zs)
        r = fi_stream_inflate(zs, out, CHUNK, &produced)
        if produced:
            if total[0] + <int64_t>produced > t.usize:
                return K_SIZE
            total[0] += produced
            kind = _emit(w, fd, out, produced, crc)
            if kind != K_OK:
                return kind
        if r == FI_STREAM_END:
            return K_OK
        if r == FI_STREAM_BAD:
            return K_INFLATE
        if produced == 0 and fi_stream_avail_in(zs) == had and in_left == 0:
            return K_INFLATE  # no progress and no more input: the stream ends too early


cdef int _extract_streaming(Worker* w, Task* t, int64_t start) noexcept nogil:
    """A member too big to hold in memory: streamed (ISA-L or zlib) in CHUNK pieces.

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
            w.zs = fi_stream_new(_use_isal)
            if w.zs == NULL:
                fi_set_errno(ENOMEM)
                return K_IO
        elif not fi_stream_reset(w.zs):
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
        elif _stamp(t, fd) != 0:
            kind = K_IO
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
        if r == K_OK and sh.counters != NULL:
            fi_add64(&sh.counters[t.job], t.usize)
        if r != K_OK:
            _fail(sh, -r if r < 0 else r, t.job, t.index, errno if r == K_IO or r == -K_IO else 0,
                  r < 0)
    fi_inflater_free(w.inflater)
    fi_stream_free(w.zs)
    EVP_MD_CTX_free(w.md)
    free(w.inbuf)
    free(w.outbuf)
    return NULL


cdef int _record_sha256(str field, unsigned char* out) except -2:
    """The SHA-256 that a RECORD hash field promises, into ``out``: 1; 0 for another
    algorithm or an empty field (checked by the caller, or not at all); -1 when a
    sha256 field is malformed. Same rules as the twin's `_record_sha256`: 43 base64
    characters (urlsafe or standard, one "=" of padding allowed)."""
    cdef Py_ssize_t n
    cdef const unsigned char* s
    try:
        s = <const unsigned char*>PyUnicode_AsUTF8AndSize(field, &n)
    except UnicodeEncodeError:
        return 0 if not field.startswith("sha256=") else -1
    if n < 7 or memcmp(s, b"sha256=", 7) != 0:
        return 0
    return 1 if fi_b64_sha256(s + 7, <size_t>(n - 7), out) else -1


cdef int _cmp_offsets(const void* a, const void* b) noexcept nogil:
    cdef const Task* x = (<Task**>a)[0]
    cdef const Task* y = (<Task**>b)[0]
    return -1 if x.offset < y.offset else (1 if x.offset > y.offset else 0)


cdef int _set_limits(Task* arr, Py_ssize_t n) except -1:
    """Set each task's limit: the offset of the next member of its archive among the
    tasks (a task twice is one member), or no limit. ``arr`` is in job order."""
    cdef Task** order = <Task**>malloc(<size_t>(n if n else 1) * sizeof(Task*))
    cdef Py_ssize_t lo = 0, hi, k
    cdef int64_t nxt
    if order == NULL:
        raise MemoryError()
    with nogil:
        for k in range(n):
            order[k] = &arr[k]
        while lo < n:
            hi = lo
            while hi < n and arr[hi].job == arr[lo].job:
                hi += 1
            qsort(order + lo, <size_t>(hi - lo), sizeof(Task*), _cmp_offsets)
            nxt = INT64_MAX
            k = hi - 1
            while k >= lo:
                if k + 1 < hi and order[k + 1].offset > order[k].offset:
                    nxt = order[k + 1].offset
                order[k].limit = nxt
                k -= 1
            lo = hi
    free(order)
    return 0


cdef int _cmp_tasks(const void* a, const void* b) noexcept nogil:
    cdef const Task* x = <const Task*>a
    cdef const Task* y = <const Task*>b
    if x.usize != y.usize:
        return -1 if x.usize > y.usize else 1
    if x.job != y.job:
        return -1 if x.job < y.job else 1
    return -1 if x.index < y.index else (1 if x.index > y.index else 0)


def extract(jobs, int threads, counters=None, stamps=None):
    """Extract every task of every ``(archive, tasks)`` job; per job, the digests.

    ``counters``, when given, holds a little-endian 8-byte count per job that grows
    by each member's size once it is written, for another thread to poll.
    ``stamps``, when given, holds a bytearray per job with 16 bytes per task: the
    new file's size and modification time in nanoseconds (little-endian, as a
    cache table's row starts), taken from the file once written.

    For example, ``extract([("demo.whl", [task])], 0)``, with ``task`` a ``Task``
    such as ``(0, 8, 20, 31, 0x1234abcd, "/stage/a.py", 0o644, b"", -1, "a.py")``,
    gives ``[digest]``, the 32-byte SHA-256 of ``/stage/a.py``.
    """
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
    cdef list stamp_list = None
    if stamps is not None:
        stamp_list = list(stamps)
        if len(stamp_list) != njobs or any(
            not isinstance(b, bytearray) or len(b) != 16 * len(t)
            for b, t in zip(stamp_list, task_lists)
        ):
            raise ValueError("stamps needs a bytearray of 16 bytes per task for each job")

    _sha256_ready()
    cdef list results = []
    cdef list keep = []       # the encoded destinations, alive while C points into them
    cdef list fds = [-1] * njobs
    cdef list sizes = [0] * njobs
    cdef Task* arr = <Task*>malloc(<size_t>(total if total else 1) * sizeof(Task))
    if arr == NULL:
        raise MemoryError()
    cdef Shared sh
    cdef Worker* workers = NULL
    cdef Task** deferred = NULL
    cdef Py_ssize_t n = 0
    cdef int nthreads, fd, r
    cdef int64_t start
    cdef Py_ssize_t k
    cdef Task* t
    cdef bytes result, dest_b
    cdef struct_stat st
    try:
        for j in range(njobs):
            tasks = task_lists[j]
            result = PyBytes_FromStringAndSize(NULL, 32 * len(tasks))
            results.append(result)
            for i in range(len(tasks)):
                offset, method, csize, usize, crc, dest, mode, sha, expected_size, name = tasks[i]
                dest_b = _fs(dest)
                if not isinstance(sha, (bytes, str)):
                    raise TypeError(
                        f"expected_sha256 must be bytes or str, not {type(sha).__name__}"
                    )
                if not isinstance(name, str):
                    raise TypeError(f"member names must be str, not {type(name).__name__}")
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
                t.expected_size = expected_size
                if isinstance(sha, str):  # RECORD's field: decoded here, not per file in Python
                    t.has_sha = _record_sha256(sha, t.expected)
                    if t.has_sha < 0:
                        raise CoreFailure("record-hash", j, i, 0, dest)
                else:
                    # a digest of another length is a mismatch, as in the twin
                    t.has_sha = 1 if len(sha) == 32 else (2 if len(sha) else 0)
                    if t.has_sha == 1:
                        memcpy(t.expected, PyBytes_AS_STRING(sha), 32)
                t.state = 0
                t.need = 0
                t.job = <int>j
                t.index = <int>i
                t.digest = <unsigned char*>PyBytes_AS_STRING(result) + 32 * i
                t.stamp = NULL
                if stamp_list is not None:
                    t.stamp = <unsigned char*>PyByteArray_AS_STRING(stamp_list[j]) + 16 * i
                # UTF-8 of the name, kept by the str itself (alive in task_lists)
                t.name = PyUnicode_AsUTF8AndSize(name, &t.name_len)
        _set_limits(arr, n)

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
        sh.counters = _counters(counters, njobs)
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

        # zstd members (rare) are streamed by _zstd, as in the twin: same checks and
        # errors; arr is in the order of the pool's work, the biggest first
        for k in range(n):
            t = &arr[k]
            if t.method != 93:
                continue
            j = t.job
            i = t.index
            task = task_lists[j][i]
            if t.offset < 0 or t.csize < 0 or t.usize < 0:
                raise CoreFailure("header", j, i, 0, task[5])
            r = _data_start(t, &start)
            if r != K_OK:
                raise CoreFailure(_KIND_NAMES[-r if r < 0 else r], j, i,
                                  errno if r == -K_IO or r == K_IO else 0,
                                  archives[j] if r < 0 else task[5])
            expected = (<bytes>t.expected[:32] if t.has_sha == 1 else
                        (task[7] if t.has_sha == 2 else b""))
            checked = (t.offset, 93, t.csize, t.usize, t.crc, task[5], t.mode, expected,
                       t.expected_size, task[9])
            from . import _zstd  # (here: zstd members are rare)

            try:
                digest = _zstd.extract(fds[j], start, checked)
            except MemberFailure as f:
                detail = archives[j] if f.on_archive else task[5]
                raise CoreFailure(f.kind, j, i, f.errno, detail) from None
            memcpy(t.digest, PyBytes_AS_STRING(digest), 32)
            if t.stamp != NULL:
                try:
                    st_ = os.lstat(task[5])
                except OSError as exc:
                    raise CoreFailure("io", j, i, exc.errno or 0, task[5]) from None
                stamp = (st_.st_size.to_bytes(8, "little")
                         + st_.st_mtime_ns.to_bytes(8, "little", signed=True))
                memcpy(t.stamp, PyBytes_AS_STRING(stamp), 16)
            if sh.counters != NULL:
                fi_add64(&sh.counters[j], task[3])
        return results
    finally:
        free(arr)
        free(workers)
        free(deferred)
        for fd in fds:
            if fd >= 0:
                _close(fd)
