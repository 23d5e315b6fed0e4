/* fuzz_ledger_load.c - the ledger checkpoint reader (ledger_load) on a file in a private
 * directory. Checkpoint records carry a checksum (" #<FNV-1a 64, 16 hex>", ledger.h), so
 * random edits would only ever reach "checksum failed": for three inputs in four the
 * target first rewrites every such suffix to match its line, so the parser behind the
 * checksum is fuzzed too. Property: what was restored saves, and that file loads back
 * whole with the same number of rows. */
#include "fuzz_common.h"

#include <inttypes.h>

#include "agent/common/util.h"
#include "agent/ledger/ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_hex16(const char *p)
{
	for (int i = 0; i < 16; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/* Rewrites "<record> #<16 hex>" at the end of each line to the record's checksum. */
static void fix_checksums(char *buf, size_t len)
{
	size_t start = 0;

	while (start < len) {
		char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;
		if (end - start >= 18 && buf[end - 18] == ' ' && buf[end - 17] == '#' &&
		    is_hex16(buf + end - 16)) {
			char hex[17];
			snprintf(hex, sizeof(hex), "%016" PRIx64,
				 mem_hash(buf + start, end - 18 - start));
			memcpy(buf + end - 16, hex, 16);
		}
		start = end + 1;
	}
}

static void drop_aside(const struct ledger_load_info *info)
{
	if (info->set_aside[0])
		unlink(info->set_aside);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[128], out[128];
	struct ledger_load_info info, info2;
	struct wl_err e = { "" };
	struct ledger *l, *l2;
	char *buf = fz_cstr(data, size);
	int rc;

	fz_path(in, sizeof(in), "in.ckpt");
	fz_path(out, sizeof(out), "out.ckpt");
	if (mem_hash(buf, size) & 3)
		fix_checksums(buf, size);
	fz_write_file(in, buf, size);
	free(buf);
	l = ledger_new(600ull * 1000000000ull);
	if (!l)
		abort();
	rc = ledger_load(l, in, &info, &e);
	drop_aside(&info);
	if (rc == 0 || rc == -EBADMSG) {
		FZ_CHECK(ledger_save(l, out, &e) == 0, "restored ledger does not save: %s", e.msg);
		l2 = ledger_new(600ull * 1000000000ull);
		if (!l2)
			abort();
		rc = ledger_load(l2, out, &info2, &e);
		drop_aside(&info2);
		FZ_CHECK(rc == 0, "saved checkpoint does not load back whole: rc %d: %s", rc, e.msg);
		FZ_CHECK(ledger_count(l2) == ledger_count(l), "rows %zu after reload, %zu before",
			 ledger_count(l2), ledger_count(l));
		ledger_free(l2);
	}
	ledger_free(l);
	return 0;
}
