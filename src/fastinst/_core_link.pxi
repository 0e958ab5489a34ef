# Directories, hard links, clones and copies: make_dirs and link_files.
# Included by _core.pyx.


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
