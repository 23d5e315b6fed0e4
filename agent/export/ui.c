/* ui.c - the /ui WebSocket frame (see ui.h; the page itself is generated from
 * ui/index.html by the Makefile).
 *
 * The busiest rows are chosen in the order of /api/v1/workloads (json.c): total watts
 * of the tick, highest first, terminated rows counting 0, ties by key; a bounded
 * insertion into a rows-long array keeps it O(rows x ui_rows) without a sort or an
 * allocation per tick.
 */
#include "ui.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "export_impl.h"

struct pick {
	const struct ledger_row *row;
	double watts;
};

struct ui_frame {
	unsigned rows;
	struct pick *top;          /* rows entries */
	struct strbuf text;        /* the last rendering */
	double hist[UI_HISTORY];   /* ring of node watts */
	unsigned hist_head, hist_n; /* next slot, entries held */
	uint64_t hist_last_tick;   /* the tick of the newest entry */
};

struct ui_frame *ui_frame_new(unsigned rows, struct wl_err *err)
{
	struct ui_frame *u;

	if (rows < 1 || rows > UI_ROWS_MAX) {
		err_set(err, EINVAL, "ui rows %u: want 1..%u", rows, UI_ROWS_MAX);
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (u)
		u->top = calloc(rows, sizeof(*u->top));
	if (!u || !u->top) {
		free(u);
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	u->rows = rows;
	strbuf_init(&u->text, UI_FRAME_CAP);
	return u;
}

void ui_frame_free(struct ui_frame *u)
{
	if (!u)
		return;
	strbuf_release(&u->text);
	free(u->top);
	free(u);
}

void ui_frame_record(struct ui_frame *u, const struct ledger *l, const struct agent_status *s)
{
	const struct ledger_node *n;

	if (!u || !l || !s)
		return;
	n = ledger_node_c(l);
	u->hist[u->hist_head] = export_total_watts(n->watts, export_zones_present(n));
	u->hist_head = (u->hist_head + 1) % UI_HISTORY;
	if (u->hist_n < UI_HISTORY)
		u->hist_n++;
	u->hist_last_tick = s->ticks;
}

/* a before b in /api/v1/workloads' order */
static bool before(const struct pick *a, const struct pick *b)
{
	if (a->watts != b->watts)
		return a->watts > b->watts;
	return strcmp(a->row->key, b->row->key) < 0;
}

static unsigned pick_top(struct ui_frame *u, const struct ledger *l, uint32_t zones)
{
	size_t count = ledger_count(l);
	unsigned n = 0;

	for (size_t i = 0; i < count; i++) {
		struct pick p;
		unsigned at;
		p.row = ledger_row_at(l, i);
		p.watts = p.row->terminated ? 0 : export_total_watts(p.row->watts, zones);
		if (n == u->rows && !before(&p, &u->top[n - 1]))
			continue;
		at = n < u->rows ? n++ : n - 1;
		while (at > 0 && before(&p, &u->top[at - 1])) {
			u->top[at] = u->top[at - 1];
			at--;
		}
		u->top[at] = p;
	}
	return n;
}

static void key(struct out_buf *o, const char *k)
{
	ob_adds(o, "\"");
	ob_adds(o, k);
	ob_adds(o, "\":");
}

static void kv_dbl(struct out_buf *o, const char *k, double v)
{
	key(o, k);
	ob_double6(o, v);
	ob_add(o, ",", 1);
}

static void kv_str(struct out_buf *o, const char *k, const char *v)
{
	key(o, k);
	ob_json_str(o, v ? v : "");
	ob_add(o, ",", 1);
}

static void node_part(struct out_buf *o, const struct ledger_node *n, uint32_t zones,
		      const struct agent_status *s)
{
	bool first = true;

	key(o, "node");
	ob_add(o, "{", 1);
	kv_str(o, "name", s->node_name);
	kv_dbl(o, "watts", export_total_watts(n->watts, zones));
	kv_dbl(o, "watts_dynamic", export_mode_watts(n->watts, zones, MODE_DYNAMIC));
	kv_dbl(o, "watts_idle", export_mode_watts(n->watts, zones, MODE_IDLE));
	key(o, "zones");
	ob_add(o, "[", 1);
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(zones & (1u << z)))
			continue;
		if (!first)
			ob_add(o, ",", 1);
		first = false;
		ob_add(o, "{", 1);
		kv_str(o, "zone", zone_name((enum zone)z));
		kv_dbl(o, "idle", n->watts[z][MODE_IDLE]);
		key(o, "dynamic");
		ob_double6(o, n->watts[z][MODE_DYNAMIC]);
		ob_add(o, "}", 1);
	}
	ob_adds(o, "]}");
}

static void row_part(struct out_buf *o, const struct pick *p, uint32_t zones)
{
	const struct ledger_row *r = p->row;

	ob_add(o, "{", 1);
	kv_str(o, "workload", r->key);
	kv_str(o, "kind", export_row_kind(r));
	kv_str(o, "namespace", r->ns);
	kv_str(o, "pod", r->pod);
	kv_str(o, "container", r->container);
	kv_str(o, "owner_kind", r->owner_kind);
	kv_str(o, "owner_name", r->owner_name);
	kv_dbl(o, "cpu_cores", r->terminated ? 0 : r->cpu_cores);
	kv_dbl(o, "watts_dynamic",
	       r->terminated ? 0 : export_mode_watts(r->watts, zones, MODE_DYNAMIC));
	kv_dbl(o, "watts_idle", r->terminated ? 0 : export_mode_watts(r->watts, zones, MODE_IDLE));
	key(o, "watts");
	ob_double6(o, p->watts);
	ob_add(o, "}", 1);
}

static void history_part(struct out_buf *o, const struct ui_frame *u)
{
	unsigned start = (u->hist_head + UI_HISTORY - u->hist_n) % UI_HISTORY;

	key(o, "history");
	ob_add(o, "{", 1);
	key(o, "last_tick");
	ob_u64(o, u->hist_last_tick);
	ob_add(o, ",", 1);
	key(o, "watts");
	ob_add(o, "[", 1);
	for (unsigned i = 0; i < u->hist_n; i++) {
		if (i)
			ob_add(o, ",", 1);
		ob_double6(o, u->hist[(start + i) % UI_HISTORY]);
	}
	ob_adds(o, "]}");
}

int ui_frame_render(struct ui_frame *u, const struct ledger *l, const struct agent_status *s)
{
	struct out_buf o;
	const struct ledger_node *n;
	uint32_t zones;
	unsigned top;

	if (!u || !l || !s)
		return -EINVAL;
	strbuf_reset(&u->text);
	o.sb = &u->text;
	o.err = 0;
	n = ledger_node_c(l);
	zones = export_zones_present(n);
	top = pick_top(u, l, zones);

	ob_adds(&o, "{\"type\":\"tick\",");
	key(&o, "tick");
	ob_u64(&o, s->ticks);
	ob_add(&o, ",", 1);
	kv_dbl(&o, "tick_interval_s", s->tick_interval_s);
	kv_str(&o, "version", s->version);
	kv_str(&o, "meter", s->meter ? s->meter : "none");
	kv_str(&o, "energy_source", s->energy_source ? s->energy_source : "none");
	node_part(&o, n, zones, s);
	ob_add(&o, ",", 1);
	key(&o, "workloads_total");
	ob_u64(&o, ledger_count(l));
	ob_add(&o, ",", 1);
	key(&o, "workloads");
	ob_add(&o, "[", 1);
	for (unsigned i = 0; i < top; i++) {
		if (i)
			ob_add(&o, ",", 1);
		row_part(&o, &u->top[i], zones);
	}
	ob_adds(&o, "],");
	history_part(&o, u);
	ob_adds(&o, "}\n");
	if (o.err)
		strbuf_reset(&u->text);
	return o.err;
}

const char *ui_frame_text(const struct ui_frame *u, size_t *len)
{
	if (!u) {
		*len = 0;
		return "";
	}
	*len = u->text.len;
	return u->text.len ? u->text.buf : "";
}
