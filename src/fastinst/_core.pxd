# C declarations for _core.pyx (and the .pxi files it includes) that Cython's own
# posix/libc .pxd files do not have, the helpers of _core_helpers.h, and the structs
# the worker threads share.

from libc.stdint cimport int64_t, uint16_t, uint32_t, uint64_t
from posix.stat cimport struct_stat


cdef extern from "<unistd.h>" nogil:
    enum: _SC_NPROCESSORS_ONLN
    ssize_t copy_file_range(int fd_in, void* off_in, int fd_out, void* off_out,
                            size_t length, unsigned int flags)


cdef extern from "<linux/fs.h>" nogil:
    enum: FICLONE


cdef extern from "<pthread.h>" nogil:
    ctypedef unsigned long pthread_t
    int pthread_create(pthread_t* thread, const void* attr,
                       void* (*start)(void*) noexcept nogil, void* arg)
    int pthread_join(pthread_t thread, void** ret)
    ctypedef struct pthread_mutex_t:
        pass
    int pthread_mutex_init(pthread_mutex_t* m, const void* attr)
    int pthread_mutex_destroy(pthread_mutex_t* m)
    int pthread_mutex_lock(pthread_mutex_t* m)
    int pthread_mutex_unlock(pthread_mutex_t* m)


cdef extern from "<openssl/evp.h>" nogil:
    ctypedef struct EVP_MD_CTX:
        pass
    EVP_MD_CTX* EVP_MD_CTX_new()
    void EVP_MD_CTX_free(EVP_MD_CTX* ctx)
    int EVP_DigestUpdate(EVP_MD_CTX* ctx, const void* data, size_t n)
    int EVP_DigestFinal_ex(EVP_MD_CTX* ctx, unsigned char* md, unsigned int* n)


cdef extern from "_core_helpers.h" nogil:
    ctypedef struct fi_inflater:
        pass
    const char* FI_INFLATER
    size_t fi_fetch_add(size_t* p)
    size_t fi_fetch_add_n(size_t* p, size_t n)
    void fi_set_errno(int e)
    int fi_load(int* p)
    size_t fi_load_size(size_t* p)
    void fi_set(int* p)
    int fi_claim(int* p)
    int fi_budget_take(int64_t* b, int64_t n)
    void fi_budget_give(int64_t* b, int64_t n)
    uint16_t fi_le16(const unsigned char* p)
    uint32_t fi_le32(const unsigned char* p)
    uint64_t fi_le64(const unsigned char* p)
    int fi_b64_sha256(const unsigned char* s, size_t n, unsigned char* out)
    int fi_sha256_setup()
    const char* FI_CRYPTO_NAME
    void fi_sha256_small(const unsigned char* data, size_t n, unsigned char* out)
    int fi_sha256_begin(EVP_MD_CTX* ctx)
    fi_inflater* fi_inflater_new()
    void fi_inflater_free(fi_inflater* d)
    int fi_inflate(fi_inflater* d, const void* inp, size_t in_n, void* out, size_t out_n)
    uint32_t fi_crc32(uint32_t crc, const void* p, size_t n)
    ctypedef struct fi_stream:
        pass
    const char* FI_STREAMER
    enum:
        FI_SMALL_MEMBER
        FI_STREAM_MIN
    enum:
        FI_STREAM_MORE
        FI_STREAM_END
        FI_STREAM_BAD
    fi_stream* fi_stream_new(int isal)
    void fi_stream_free(fi_stream* s)
    int fi_stream_reset(fi_stream* s)
    void fi_stream_input(fi_stream* s, const unsigned char* inp, size_t n)
    size_t fi_stream_avail_in(const fi_stream* s)
    int fi_stream_inflate(fi_stream* s, unsigned char* out, size_t cap, size_t* made)


# One extraction task, as the worker threads see it.
cdef struct Task:
    int64_t offset          # of the local header
    int64_t csize
    int64_t usize
    int64_t expected_size   # -1: not checked
    int64_t archive_size
    uint32_t crc
    int method
    int mode
    int fd                  # of the archive, shared by the tasks of a job
    int job
    int index
    int has_sha             # 0: no expected digest, 1: compare, 2: wrong length (never matches)
    int state               # big members: 0 new, 1 put aside once, 2 memory budget taken
    int64_t need            # bytes of whole-member buffers (input + output)
    int64_t limit           # the member's data must end here (the next member's header)
    const char* dest
    const char* name        # the member's name in the central directory (UTF-8)
    Py_ssize_t name_len
    unsigned char* digest   # where the SHA-256 goes (inside the job's result bytes)
    unsigned char* stamp    # where size and mtime_ns of the new file go (16 bytes), or NULL
    unsigned char expected[32]


# What all workers of one extract() call share.
cdef struct Shared:
    Task* tasks
    size_t ntasks
    size_t next             # atomic: the next task to take
    int stop                # atomic: set on the first failure
    int failed              # atomic: claimed by the worker that records the failure
    int fail_kind
    int fail_job
    int fail_index
    int fail_errno
    int fail_on_source      # the failing path is the archive, not the destination
    int64_t* counters       # per job: bytes written so far (or NULL)
    # extract only: bytes left for whole-buffer big members (atomic), and the big
    # members put aside until that memory is free (under the lock)
    int64_t budget
    Task** deferred
    size_t ndeferred
    pthread_mutex_t lock


# One thread of a pool: its buffers, grown as needed and freed when it ends.
cdef struct Worker:
    Shared* sh
    unsigned char* inbuf
    size_t incap
    unsigned char* outbuf
    size_t outcap
    fi_inflater* inflater
    fi_stream* zs             # streaming inflate of big members, made when first needed
    EVP_MD_CTX* md
    pthread_t thread
    int started


# --- tables of cache entries (_core_link.pxi) ---------------------------------------

cdef extern from "<fcntl.h>" nogil:
    enum:
        O_NOFOLLOW
        O_PATH
        AT_FDCWD
        AT_SYMLINK_NOFOLLOW
    int fstatat(int dirfd, const char* path, struct_stat* st, int flags)
    int linkat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, int flags)
    int unlinkat(int dirfd, const char* path, int flags)


cdef extern from "_core_helpers.h" nogil:
    int64_t fi_mtime_ns(const struct_stat* st)
    void fi_add64(int64_t* p, int64_t n)
    bint fi_is_reg(unsigned int mode)
    const char* fi_b64url


cdef enum:
    NKEYS = 5               # scheme keys: purelib, platlib, headers, scripts, data
    ROW_SIZE = 52           # the fixed part of a table row
    # Rows are handed out in runs of neighbours: the table lists files directory by
    # directory, and two threads creating entries in one directory only wait for
    # each other on its lock (measured on tmpfs: 2 threads taking one file at a
    # time were 2.4x slower than 1 thread; in runs, they are faster).
    LINK_RUN = 128
    # a row's byte in link_tree's skip mask
    ROW_SKIPPED = 1         # not linked, listed in RECORD (a later wheel writes it)
    ROW_LEFT_OUT = 2        # neither (a wheel's own __pycache__ with skip_pycache)
    # failure kinds of the table calls
    T_OK = 0
    T_TABLE
    T_CHANGED
    T_IO


# One row of a table, as the workers see it (pointers into the table's bytes).
cdef struct Row:
    const unsigned char* path
    const unsigned char* sha
    int64_t size
    int64_t mtime
    size_t len
    int key
    int flags


# What all workers of one make_table() or link_tree() call share.
cdef struct TableJob:
    Row* rows
    size_t n
    size_t longest              # the longest path of a row
    size_t next                 # atomic: the next run of rows to take
    int stop                    # atomic: set on the first failure
    int failed                  # atomic: claimed by the worker that records it
    int fail_kind
    size_t fail_index
    int fail_errno
    int fail_on_source          # the failing path is the cached file, not the target
    const char* sources[NKEYS]
    size_t source_len[NKEYS]
    const char* targets[NKEYS]
    size_t target_len[NKEYS]
    # link_trees: each key's cached and target directory, opened (O_PATH) once per
    # call, so that a file's calls walk only its path below them (-1: no rows there)
    int source_fd[NKEYS]
    int target_fd[NKEYS]
    int how[NKEYS]
    const char* prefixes[NKEYS]
    size_t prefix_len[NKEYS]
    int prefix_quote[NKEYS]     # the prefix alone makes a RECORD field need quotes
    size_t prefix_quotes[NKEYS]  # '"' in the prefix
    const unsigned char* skip   # per row: nonzero = not linked (or NULL)
    int64_t* counter            # bytes linked so far (or NULL)
    size_t copies               # atomic: files copied where a link or clone was refused
    size_t bufsize              # of each worker's path buffers
    struct_stat* stats          # make_table: where each row's lstat goes
    unsigned int euid           # link_trees: who installs (the owner of every cached file)


# What all workers of one link_trees() call share: the tables of every wheel, cut
# into runs of rows (units), and the first failure. Each worker walks the units
# from its own place (see _link_worker) and claims each one it finds unclaimed.
cdef struct LinkPool:
    TableJob* jobs
    size_t njobs
    size_t* unit_job            # per unit: its job
    size_t* unit_start          # per unit: its first row
    int* claimed                # per unit, atomic: taken by a worker
    unsigned char** unit_text   # per unit: its rows' RECORD text (malloc'd by its worker)
    size_t* unit_len            # per unit: that text's length
    size_t nunits
    int nworkers
    int stop                    # atomic: set on the first failure
    int failed                  # atomic: claimed by the worker that records it
    int fail_kind
    size_t fail_job
    size_t fail_index
    int fail_errno
    int fail_on_source          # the failing path is the cached file, not the target


# One thread of a table call: its path buffers.
cdef struct TableWorker:
    TableJob* job
    LinkPool* pool              # link_trees only
    char* src
    char* dst
    char* last                  # the directory made last (a prefix of dst)
    size_t last_len
    int last_fd                 # link_trees: the target directory ``last`` is below
    int index                   # link_trees: which worker of the pool
    unsigned char* buf          # copy buffer (CHUNK), made when first needed
    int plain_copy              # copy_file_range was refused: read and write
    pthread_t thread
    int started
