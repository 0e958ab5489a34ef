# C declarations for _core.pyx that Cython's own posix/libc .pxd files do not have.

from libc.stdint cimport int64_t, uint32_t


cdef extern from "<unistd.h>" nogil:
    enum: _SC_NPROCESSORS_ONLN
    ssize_t copy_file_range(int fd_in, void* off_in, int fd_out, void* off_out,
                            size_t length, unsigned int flags)


cdef extern from "<zlib.h>" nogil:
    ctypedef struct z_stream:
        unsigned char* next_in
        unsigned int avail_in
        unsigned char* next_out
        unsigned int avail_out
    enum:
        Z_OK
        Z_STREAM_END
        Z_BUF_ERROR
        Z_NO_FLUSH
    int inflateInit2(z_stream* strm, int window_bits)
    int inflateReset(z_stream* strm)
    int inflate(z_stream* strm, int flush)
    int inflateEnd(z_stream* strm)


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
    const char* dest
    unsigned char* digest   # where the SHA-256 goes (inside the job's result bytes)
    unsigned char expected[32]


# What all workers of one extract() or link_files() call share.
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
    int fail_on_source      # the failing path is the archive (extract) or src (link)
    # link_files only
    const char** srcs
    const char** dsts
    int how
    # extract only: bytes left for whole-buffer big members (atomic), and the big
    # members put aside until that memory is free (under the lock)
    int64_t budget
    Task** deferred
    size_t ndeferred
    pthread_mutex_t lock
