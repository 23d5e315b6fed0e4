/* ui.h - the /ui page (embedded at build time) and the frame its WebSocket carries.
 *
 * The page (ui/index.html, turned into a C array by the Makefile) is one self-contained
 * HTML document: inline CSS and JavaScript, nothing fetched from elsewhere, relative
 * URLs only (so it works through `kubectl port-forward` and under a path prefix). It
 * opens the WebSocket ui/ws (protocol UI_WS_PROTOCOL) and falls back to polling
 * api/v1/workloads when that fails.
 *
 * The frame is one JSON document per tick, rendered once and shared by every client
 * (docs/metrics.md, "/ui"): the tick number (agent.ticks of /api/v1/workloads), node
 * power per zone split into idle and dynamic, the ui_rows busiest workloads in the
 * order and with the numbers of /api/v1/workloads, and the node's watts of the last
 * UI_HISTORY ticks. Numbers are printed as in /api/v1/workloads (6 decimals), so the
 * two agree exactly for the same tick.
 *
 * Cost: ui_frame_record() is O(zones) per tick; ui_frame_render() is O(rows x ui_rows)
 * (a bounded insertion of the busiest rows, no sort, no allocation once the buffer has
 * grown) plus O(UI_HISTORY) for the history; its output is about
 * 700 + 12 x UI_HISTORY + ui_rows x (450 + the row's names) bytes (~6 KiB for 20
 * Kubernetes containers). The daemon renders only while a WebSocket client is open.
 *
 * Ownership: the frame owns its buffers; ledgers and status are borrowed for the
 * duration of a call. Return convention: 0 or negative errno; the constructor returns
 * NULL with err filled. Single-threaded. Nothing here logs.
 */
#ifndef WATTLET_UI_H
#define WATTLET_UI_H

#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "../ledger/ledger.h"
#include "export.h"

#define UI_WS_PROTOCOL "wattlet-ui.v1"
#define UI_HISTORY 300u       /* node watts of the last 300 ticks (5 min at 1 s) */
#define UI_ROWS_DEFAULT 20u
#define UI_ROWS_MAX 200u
#define UI_FRAME_CAP (4u << 20) /* 200 rows of 4 KiB cgroup paths fit */

/* The page, NUL-terminated; generated from ui/index.html. */
extern const char ui_page_html[];
extern const size_t ui_page_html_len;

struct ui_frame;

/* rows: workloads in a frame, 1..UI_ROWS_MAX. NULL with err set otherwise. */
struct ui_frame *ui_frame_new(unsigned rows, struct wl_err *err);
void ui_frame_free(struct ui_frame *u);

/* Adds the node's total watts of the tick that just ended (s->ticks) to the history.
 * Call once per tick whether or not anyone watches. */
void ui_frame_record(struct ui_frame *u, const struct ledger *l, const struct agent_status *s);

/* Renders the frame of the current tick into the frame's buffer (replacing the last
 * one). 0, -EINVAL, -E2BIG (over UI_FRAME_CAP), -ENOMEM; on error the last good frame
 * is gone (ui_frame_text() then gives length 0). */
int ui_frame_render(struct ui_frame *u, const struct ledger *l, const struct agent_status *s);

/* The last rendering (valid until the next render or free); *len its length. */
const char *ui_frame_text(const struct ui_frame *u, size_t *len);

#endif
