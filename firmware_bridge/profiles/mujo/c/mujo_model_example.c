/*
 * mujo_model_example.c -- classify activities on the watch with the model from `mujo-edge export --c-array`.
 *
 * The watch keeps the last MUJO_MODEL_WINDOW samples (50 Hz, g, the same samples mujo_stream.h sends),
 * and every MUJO_MODEL_HOP samples runs the model on them. This file is plain C99; the one call into
 * TensorFlow Lite Micro (C++) sits behind mujo_model_invoke(), whose TFLM implementation is:
 *
 *   // mujo_model_tflm.cc
 *   #include "tensorflow/lite/micro/micro_interpreter.h"
 *   #include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
 *   #include "mujo_model.h"
 *   alignas(16) static uint8_t arena[MUJO_MODEL_ARENA_BYTES];
 *   static tflite::MicroInterpreter *it;
 *   extern "C" int mujo_model_invoke(const float *acc_g, int8_t *logits_q) {
 *       if (!it) {
 *           static tflite::MicroMutableOpResolver<MUJO_MODEL_N_OPS> ops;
 *   #define ADD_OP(op) ops.op();
 *           MUJO_MODEL_OPS(ADD_OP)
 *           static tflite::MicroInterpreter interpreter(tflite::GetModel(mujo_model_tflite), ops, arena,
 *                                                       sizeof arena);
 *           if (interpreter.AllocateTensors() != kTfLiteOk) return -1;
 *           it = &interpreter;
 *       }
 *       mujo_model_fill_input(acc_g, it->input(0)->data.f);   // .int8 when MUJO_MODEL_INPUT_INT8
 *       if (it->Invoke() != kTfLiteOk) return -1;
 *       memcpy(logits_q, it->output(MUJO_MODEL_LOGITS_OUTPUT)->data.int8, MUJO_MODEL_N_LABELS);
 *       return 0;
 *   }
 *
 * Build: add mujo_model.c, this file and mujo_model_tflm.cc to the firmware with TFLM's sources.
 * Compile-checked on the host by tests/export/test_tflite_micro.py (with a stand-in for the TFLM call).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <string.h>

#include "mujo_model.h"

/* Runs the model on one window acc_g[t * 3 + c]; writes MUJO_MODEL_N_LABELS int8 logits. 0 on success. */
int mujo_model_invoke(const float *acc_g, int8_t *logits_q);

typedef struct {
    float acc_g[MUJO_MODEL_WINDOW * MUJO_MODEL_CHANNELS]; /* ring of the last WINDOW samples, g */
    int next;                                              /* where the next sample goes */
    int filled;                                            /* samples held, up to WINDOW */
    int since_last;                                        /* samples since the last classification */
} mujo_window_t;

/* Adds one calibrated sample (g). When a window is due (every MUJO_MODEL_HOP samples once WINDOW are
 * held), classifies it: returns the label index and sets *logit to its logit; returns -1 otherwise, -2 when
 * the model call failed. */
int mujo_window_push(mujo_window_t *w, const float xyz_g[MUJO_MODEL_CHANNELS], float *logit) {
    memcpy(&w->acc_g[w->next * MUJO_MODEL_CHANNELS], xyz_g, sizeof(float) * MUJO_MODEL_CHANNELS);
    w->next = (w->next + 1) % MUJO_MODEL_WINDOW;
    if (w->filled < MUJO_MODEL_WINDOW) w->filled++;
    w->since_last++;
    if (w->filled < MUJO_MODEL_WINDOW || w->since_last < MUJO_MODEL_HOP) return -1;
    w->since_last = 0;
    float ordered[MUJO_MODEL_WINDOW * MUJO_MODEL_CHANNELS]; /* oldest sample first */
    size_t head = (size_t)w->next * MUJO_MODEL_CHANNELS, total = sizeof ordered / sizeof ordered[0];
    memcpy(ordered, &w->acc_g[head], sizeof(float) * (total - head));
    memcpy(&ordered[total - head], w->acc_g, sizeof(float) * head);
    int8_t logits_q[MUJO_MODEL_N_LABELS];
    if (mujo_model_invoke(ordered, logits_q) != 0) return -2;
    int k = mujo_model_top1(logits_q);
    *logit = mujo_model_logit(logits_q, k);
    return k;
}
