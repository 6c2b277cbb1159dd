/*
 * mujo_stream.h -- reference encoder of the MuJo open stream protocol, version 1.
 *
 * Header-only, C99, no allocation, no dependencies beyond <stdint.h> and <stddef.h>. Drop it into watch
 * firmware, call mujo_stream_init() once per START command, then mujo_stream_encode() with your samples and
 * notify the bytes it wrote on the data characteristic. Specification: docs/protocol.md. The Python
 * decoder in mujo_edge.firmware_bridge.profiles.mujo.stream reads these frames; tests check that both
 * produce identical bytes.
 *
 *   GATT service  c842ee00-5d13-4718-ac9c-b14bd3cd8bfc
 *     info        c842ee01-...  read      version, channels, rates, range codes (mujo_stream_encode_info)
 *     control     c842ee02-...  write + indicate   START / STOP, answered F0 <op> <status>
 *     data        c842ee03-...  notify    frames (mujo_stream_encode)
 *
 * Data frame, little-endian:
 *   0  u8  version << 4 | flags (bit 0: RESTART, first frame after START)
 *   1  u8  n samples (1..255)
 *   2  u16 seq (wraps)             4  u32 t0_us, sensor time of sample 0 (wraps)
 *   8  u16 rate in 0.01 Hz         10 u8  range code: counts per g = 16384 >> code
 *   11 n x (i16 x, i16 y, i16 z)   end u16 CRC-16/CCITT-FALSE over everything before it
 *
 * Example:
 *   mujo_stream_t s;
 *   uint8_t buf[244];                                 // ATT MTU 247 - 3
 *   mujo_stream_init(&s, 5000, MUJO_RANGE_8G);        // 50 Hz, +-8 g (4096 counts per g)
 *   size_t used;
 *   size_t len = mujo_stream_encode(&s, t0_us, xyz, n, buf, sizeof buf, &used);
 *   notify(buf, len); xyz += 3 * used; n -= used; t0_us = mujo_stream_sample_time_us(&s, t0_us, used);
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef MUJO_STREAM_H
#define MUJO_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define MUJO_STREAM_VERSION 1u
#define MUJO_FLAG_RESTART 0x01u
#define MUJO_HEADER_BYTES 11u
#define MUJO_CRC_BYTES 2u
#define MUJO_OVERHEAD_BYTES (MUJO_HEADER_BYTES + MUJO_CRC_BYTES)
#define MUJO_SAMPLE_BYTES 6u
#define MUJO_MAX_SAMPLES 255u

/* Range codes: full scale +-2^(code+1) g, counts per g = 16384 >> code. */
#define MUJO_RANGE_2G 0u
#define MUJO_RANGE_4G 1u
#define MUJO_RANGE_8G 2u
#define MUJO_RANGE_16G 3u

/* Control characteristic. */
#define MUJO_OP_START 0x01u /* 01 <rate u16 0.01 Hz> <range code u8> */
#define MUJO_OP_STOP 0x02u  /* 02 */
#define MUJO_RESPONSE 0xF0u /* F0 <op> <status> */
#define MUJO_STATUS_OK 0u
#define MUJO_STATUS_UNKNOWN_OP 1u
#define MUJO_STATUS_INVALID_LENGTH 2u
#define MUJO_STATUS_UNSUPPORTED_RATE 3u
#define MUJO_STATUS_UNSUPPORTED_RANGE 4u
#define MUJO_STATUS_INVALID_STATE 5u

/* Encoder state of one stream; reset it with mujo_stream_init() on every START. */
typedef struct {
    uint16_t seq;          /* sequence number of the next frame */
    uint16_t rate_centihz; /* sample rate, 0.01 Hz */
    uint8_t range_code;    /* MUJO_RANGE_* */
    uint8_t restart;       /* 1 until the first frame is written */
} mujo_stream_t;

static inline void mujo_put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static inline void mujo_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)(v >> 24);
}

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor ("123456789" -> 0x29B1). */
static inline uint16_t mujo_crc16_ccitt_false(const uint8_t *data, size_t len) {
    uint16_t crc = 0xFFFFu;
    size_t i;
    int bit;
    for (i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

/* Start a stream: sequence 0, next frame flagged RESTART. */
static inline void mujo_stream_init(mujo_stream_t *s, uint16_t rate_centihz, uint8_t range_code) {
    s->seq = 0;
    s->rate_centihz = rate_centihz;
    s->range_code = range_code;
    s->restart = 1;
}

/* Samples that fit one notification of max_payload bytes (= ATT MTU - 3); 0 if not even one fits. */
static inline size_t mujo_stream_max_samples(size_t max_payload) {
    size_t n;
    if (max_payload < MUJO_OVERHEAD_BYTES + MUJO_SAMPLE_BYTES) return 0;
    n = (max_payload - MUJO_OVERHEAD_BYTES) / MUJO_SAMPLE_BYTES;
    return n > MUJO_MAX_SAMPLES ? MUJO_MAX_SAMPLES : n;
}

/*
 * Sensor time of sample k counted from a sample at t0_us, microseconds (wraps like t0_us). A stream of rate 0
 * (never configured) has no sample times: t0_us is returned, as mujo_stream_encode() writes nothing for it,
 * instead of dividing by zero.
 */
static inline uint32_t mujo_stream_sample_time_us(const mujo_stream_t *s, uint32_t t0_us, size_t k) {
    if (s->rate_centihz == 0) return t0_us;
    return t0_us + (uint32_t)(((uint64_t)k * 100000000u) / s->rate_centihz);
}

/*
 * Encode one frame with as many of the n samples as fit in buf_len bytes (at most 255).
 *   xyz      n x 3 int16 counts, interleaved x, y, z
 *   t0_us    sensor time of xyz[0..2], microseconds
 *   buf      caller's buffer of buf_len bytes (pass ATT MTU - 3)
 *   used     out: how many samples went into the frame (may be NULL)
 * Returns the frame length in bytes, or 0 (nothing written, seq unchanged) if n == 0, rate is 0, or not
 * even one sample fits.
 */
static inline size_t mujo_stream_encode(mujo_stream_t *s, uint32_t t0_us, const int16_t *xyz, size_t n,
                                        uint8_t *buf, size_t buf_len, size_t *used) {
    size_t fit = mujo_stream_max_samples(buf_len);
    size_t k, len;
    uint8_t *p;
    if (used) *used = 0;
    if (n == 0 || fit == 0 || s->rate_centihz == 0) return 0;
    if (n > fit) n = fit;
    buf[0] = (uint8_t)((MUJO_STREAM_VERSION << 4) | (s->restart ? MUJO_FLAG_RESTART : 0u));
    buf[1] = (uint8_t)n;
    mujo_put_u16(buf + 2, s->seq);
    mujo_put_u32(buf + 4, t0_us);
    mujo_put_u16(buf + 8, s->rate_centihz);
    buf[10] = s->range_code;
    p = buf + MUJO_HEADER_BYTES;
    for (k = 0; k < 3 * n; k++) {
        mujo_put_u16(p, (uint16_t)xyz[k]);
        p += 2;
    }
    len = (size_t)(p - buf);
    mujo_put_u16(p, mujo_crc16_ccitt_false(buf, len));
    s->seq = (uint16_t)(s->seq + 1u);
    s->restart = 0;
    if (used) *used = n;
    return len + MUJO_CRC_BYTES;
}

/*
 * The info characteristic's value: version, channels (3), R, R x rate u16 (0.01 Hz), K, K x range code.
 * Returns its length, or 0 if buf_len is too small.
 */
static inline size_t mujo_stream_encode_info(const uint16_t *rates_centihz, uint8_t n_rates,
                                             const uint8_t *range_codes, uint8_t n_ranges, uint8_t *buf,
                                             size_t buf_len) {
    size_t need = 3u + 2u * n_rates + 1u + n_ranges;
    size_t i, o = 0;
    if (buf_len < need) return 0;
    buf[o++] = MUJO_STREAM_VERSION;
    buf[o++] = 3u;
    buf[o++] = n_rates;
    for (i = 0; i < n_rates; i++, o += 2) mujo_put_u16(buf + o, rates_centihz[i]);
    buf[o++] = n_ranges;
    for (i = 0; i < n_ranges; i++) buf[o++] = range_codes[i];
    return o;
}

/* The control response to indicate: F0 <op> <status>; returns 3. */
static inline size_t mujo_stream_encode_response(uint8_t op, uint8_t status, uint8_t *buf) {
    buf[0] = MUJO_RESPONSE;
    buf[1] = op;
    buf[2] = status;
    return 3;
}

#endif /* MUJO_STREAM_H */
