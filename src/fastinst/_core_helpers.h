/* C helpers of the compiled core (_core.pyx): atomics for the worker pool,
   little-endian reads for the zip parser, SHA-256 through libcrypto, and the
   whole-buffer inflater (libdeflate when built with it, else zlib).
   Declared for Cython in _core.pxd. */
#ifndef FASTINST_CORE_HELPERS_H
#define FASTINST_CORE_HELPERS_H

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <zlib.h>

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

/* The 32 bytes of a SHA-256 written as RECORD writes it: 43 base64 characters
   (urlsafe or standard; one "=" of padding allowed). 1, or 0 when malformed. */
static int fi_b64_sha256(const unsigned char* s, size_t n, unsigned char* out) {
    unsigned int acc = 0;
    int bits = 0, k = 0;
    size_t i;
    if (n == 44 && s[43] == '=') n = 43;
    if (n != 43) return 0;
    for (i = 0; i < 43; i++) {
        unsigned char c = s[i];
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-' || c == '+') v = 62;
        else if (c == '_' || c == '/') v = 63;
        else return 0;
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k < 32) out[k++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return 1;  /* the last character's 2 spare bits are ignored, as binascii does */
}

/* SHA-256 of a small buffer (keys, RECORD rows of fastinst's own files) without
   libcrypto: OpenSSL 3's first fetch of its implementation costs about 5 million
   instructions, more than a warm install hashes in all (FIPS 180-4). */
static const uint32_t fi_k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
#define FI_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void fi_sha256_block(uint32_t* h, const unsigned char* p) {
    uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16)
               | ((uint32_t)p[4 * i + 2] << 8) | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 64; i++)
        w[i] = w[i - 16] + (FI_ROR(w[i - 15], 7) ^ FI_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3))
               + w[i - 7] + (FI_ROR(w[i - 2], 17) ^ FI_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; k = h[7];
    for (i = 0; i < 64; i++) {
        t1 = k + (FI_ROR(e, 6) ^ FI_ROR(e, 11) ^ FI_ROR(e, 25)) + ((e & f) ^ (~e & g))
             + fi_k256[i] + w[i];
        t2 = (FI_ROR(a, 2) ^ FI_ROR(a, 13) ^ FI_ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}
static void fi_sha256_small(const unsigned char* data, size_t n, unsigned char* out) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    unsigned char tail[128];
    size_t full = n - n % 64, rest = n % 64, tn = rest < 56 ? 64 : 128, i;
    uint64_t bits = (uint64_t)n * 8;
    for (i = 0; i < full; i += 64) fi_sha256_block(h, data + i);
    memset(tail, 0, sizeof tail);
    if (rest) memcpy(tail, data + full, rest);
    tail[rest] = 0x80;
    for (i = 0; i < 8; i++) tail[tn - 1 - i] = (unsigned char)(bits >> (8 * i));
    fi_sha256_block(h, tail);
    if (tn == 128) fi_sha256_block(h, tail + 64);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24); out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8); out[4 * i + 3] = (unsigned char)h[i];
    }
}
#undef FI_ROR

/* SHA-256 through libcrypto for everything else; OpenSSL 3 fetches the
   implementation once, on first use (fi_sha256_setup, called with the GIL held
   before any worker starts). */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#ifdef FI_LIBCRYPTO
/* Built with FI_LIBCRYPTO (setup.py: OpenSSL 3 on Linux), libcrypto is not linked
   but opened by that file name on first use: loading and relocating it cost
   every process that imports the core about 3 million instructions, a warm
   install included, which hashes nothing with it. The EVP calls of the core go
   through the functions found there. */
#include <dlfcn.h>
static struct {
    EVP_MD_CTX* (*ctx_new)(void);
    void (*ctx_free)(EVP_MD_CTX*);
    int (*init)(EVP_MD_CTX*, const EVP_MD*, ENGINE*);
    int (*update)(EVP_MD_CTX*, const void*, size_t);
    int (*final)(EVP_MD_CTX*, unsigned char*, unsigned int*);
    EVP_MD* (*fetch)(OSSL_LIB_CTX*, const char*, const char*);
} fi_crypto;
static const char* FI_CRYPTO_NAME = FI_LIBCRYPTO;
#define EVP_MD_CTX_new() (fi_crypto.ctx_new())
#define EVP_MD_CTX_free(c) (fi_crypto.ctx_free ? fi_crypto.ctx_free(c) : (void)0)
#define EVP_DigestInit_ex(c, md, e) (fi_crypto.init((c), (md), (e)))
#define EVP_DigestUpdate(c, d, n) (fi_crypto.update((c), (d), (n)))
#define EVP_DigestFinal_ex(c, m, n) (fi_crypto.final((c), (m), (n)))
static int fi_crypto_open(void) {
    void* lib;
    if (fi_crypto.fetch) return 1;
    lib = dlopen(FI_LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return 0;
    *(void**)&fi_crypto.ctx_new = dlsym(lib, "EVP_MD_CTX_new");
    *(void**)&fi_crypto.ctx_free = dlsym(lib, "EVP_MD_CTX_free");
    *(void**)&fi_crypto.init = dlsym(lib, "EVP_DigestInit_ex");
    *(void**)&fi_crypto.update = dlsym(lib, "EVP_DigestUpdate");
    *(void**)&fi_crypto.final = dlsym(lib, "EVP_DigestFinal_ex");
    if (!fi_crypto.ctx_new || !fi_crypto.ctx_free || !fi_crypto.init || !fi_crypto.update
        || !fi_crypto.final)
        return 0;
    *(void**)&fi_crypto.fetch = dlsym(lib, "EVP_MD_fetch");  /* last: the "done" mark */
    return fi_crypto.fetch != NULL;
}
#else
static const char* FI_CRYPTO_NAME = "libcrypto";
static int fi_crypto_open(void) { return 1; }
#endif
static EVP_MD* fi_md = NULL;
static int fi_sha256_setup(void) {
    if (fi_md) return 1;
    if (!fi_crypto_open()) return 0;
#ifdef FI_LIBCRYPTO
    fi_md = fi_crypto.fetch(NULL, "SHA256", NULL);
#else
    fi_md = EVP_MD_fetch(NULL, "SHA256", NULL);
#endif
    return fi_md != NULL;
}
#else
static const char* FI_CRYPTO_NAME = "libcrypto";
static const EVP_MD* fi_md = NULL;
static int fi_sha256_setup(void) { fi_md = EVP_sha256(); return fi_md != NULL; }
#endif
static int fi_sha256_begin(EVP_MD_CTX* ctx) { return EVP_DigestInit_ex(ctx, fi_md, NULL); }

/* Whole-buffer inflate of raw deflate data: libdeflate when built with it,
   else zlib. fi_inflate returns 0 when the stream inflates to exactly out_n
   bytes, 1 when it is corrupt or truncated, 2 when it inflates to another size. */
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

/* Streaming inflate of the members too big to inflate whole, in pieces of bounded
   size: ISA-L when built with it (as fast as libdeflate here, which cannot stream),
   else zlib (about 2.5x slower); zlib can be asked for in an ISA-L build too (the
   tests run both). The caller gives input with fi_stream_input when
   fi_stream_avail_in is 0; fi_stream_inflate writes up to cap bytes and says how
   many (*made): FI_STREAM_MORE (call again), FI_STREAM_END or FI_STREAM_BAD. */
enum { FI_STREAM_MORE = 0, FI_STREAM_END = 1, FI_STREAM_BAD = -1 };
#ifdef FASTINST_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#define FI_STREAMER "isa-l"
/* Streaming costs no speed: every member over FI_SMALL_MEMBER is streamed. */
#ifndef FI_SMALL_MEMBER
#define FI_SMALL_MEMBER (1 << 20)
#endif
#ifndef FI_STREAM_MIN
#define FI_STREAM_MIN 0
#endif
#else
#define FI_STREAMER "zlib"
/* Streaming through zlib is slow: members up to FI_SMALL_MEMBER are inflated whole
   in each worker's buffers, up to FI_STREAM_MIN whole within a shared budget. */
#ifndef FI_SMALL_MEMBER
#define FI_SMALL_MEMBER (4 << 20)
#endif
#ifndef FI_STREAM_MIN
#define FI_STREAM_MIN (4 << 20)
#endif
#endif

typedef struct {
    int isal;             /* which of the two below is in use */
    z_stream z;
#ifdef FASTINST_HAVE_ISAL
    struct inflate_state s;
#endif
} fi_stream;

static fi_stream* fi_stream_new(int isal) {
    fi_stream* f = (fi_stream*)calloc(1, sizeof *f);
    if (!f) return NULL;
#ifdef FASTINST_HAVE_ISAL
    f->isal = isal;
    if (isal) { isal_inflate_init(&f->s); return f; }
#endif
    f->isal = 0;
    if (inflateInit2(&f->z, -15) != Z_OK) { free(f); return NULL; }
    return f;
}
static void fi_stream_free(fi_stream* f) {
    if (!f) return;
    if (!f->isal) inflateEnd(&f->z);
    free(f);
}
static int fi_stream_reset(fi_stream* f) {
#ifdef FASTINST_HAVE_ISAL
    if (f->isal) { isal_inflate_init(&f->s); return 1; }
#endif
    return inflateReset(&f->z) == Z_OK;
}
static void fi_stream_input(fi_stream* f, const unsigned char* in, size_t n) {
#ifdef FASTINST_HAVE_ISAL
    if (f->isal) { f->s.next_in = (uint8_t*)in; f->s.avail_in = (uint32_t)n; return; }
#endif
    f->z.next_in = (Bytef*)in; f->z.avail_in = (uInt)n;
}
static size_t fi_stream_avail_in(const fi_stream* f) {
#ifdef FASTINST_HAVE_ISAL
    if (f->isal) return f->s.avail_in;
#endif
    return f->z.avail_in;
}
static int fi_stream_inflate(fi_stream* f, unsigned char* out, size_t cap, size_t* made) {
    int r;
#ifdef FASTINST_HAVE_ISAL
    if (f->isal) {
        f->s.next_out = out; f->s.avail_out = (uint32_t)cap;
        r = isal_inflate(&f->s);
        *made = cap - f->s.avail_out;
        if (r < 0) return FI_STREAM_BAD;
        return f->s.block_state == ISAL_BLOCK_FINISH ? FI_STREAM_END : FI_STREAM_MORE;
    }
#endif
    f->z.next_out = out; f->z.avail_out = (uInt)cap;
    r = inflate(&f->z, Z_NO_FLUSH);
    *made = cap - f->z.avail_out;
    if (r == Z_STREAM_END) return FI_STREAM_END;
    /* Z_BUF_ERROR: no progress possible (the input is used up): the caller sees that */
    return r == Z_OK || r == Z_BUF_ERROR ? FI_STREAM_MORE : FI_STREAM_BAD;
}
/* For the table calls (_core_link.pxi): a stat result's modification time in
   nanoseconds, a 64-bit atomic counter, S_ISREG, and base64url's alphabet. */
#include <sys/stat.h>
static inline int64_t fi_mtime_ns(const struct stat* st) {
    return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}
static inline void fi_add64(int64_t* p, int64_t n) {
    __atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}
static inline int fi_is_reg(unsigned int mode) { return S_ISREG(mode); }
static const char fi_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#endif /* FASTINST_CORE_HELPERS_H */
