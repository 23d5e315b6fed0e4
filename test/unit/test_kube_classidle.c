/* test_kube_classidle.c - the hardware class key, the NodeClassIdle object's parsing,
 * the median merge (fresh, confident, same meter) and the request bodies
 * (agent/kube/kube_classidle.h). The thread that GETs and PATCHes the object is tested
 * against the real API server (test/e2e/classidle_test.go). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testmain.h"
#include <jansson.h>

#include "agent/kube/kube_classidle.h"
#include "test/unit/fixture.h"
#include "test/unit/fixture_jpath.h"

#define NOW 1764792000 /* 2025-12-03T20:00:00Z */

static void test_hw_read(void **state)
{
	char dir[] = "/tmp/wl-ci-XXXXXX";
	struct ci_hw hw;
	struct wl_err e = { "" };
	(void)state;

	assert_non_null(mkdtemp(dir));
	fixture_write(dir, "cpuinfo",
		   "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\n"
		   "physical id\t: 0\n\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold "
		   "6338 CPU @ 2.00GHz\nphysical id\t: 1\n\nprocessor\t: 2\nphysical id\t: 1\n");
	fixture_write(dir, "meminfo", "MemTotal:       263921036 kB\nMemFree: 1 kB\n");
	assert_int_equal(ci_hw_read(dir, &hw, &e), 0);
	assert_string_equal(hw.cpu_model, "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz");
	assert_int_equal(hw.cpus, 3);
	assert_int_equal(hw.sockets, 2);
	assert_int_equal(hw.mem_gib, 252);

	/* no processor lines: an error naming the file */
	fixture_write(dir, "cpuinfo", "garbage without colons\n");
	assert_int_equal(ci_hw_read(dir, &hw, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "cpuinfo"));
	/* missing files */
	char p[600];
	snprintf(p, sizeof(p), "%s/cpuinfo", dir);
	unlink(p);
	assert_int_equal(ci_hw_read(dir, &hw, &e), -ENOENT);
	snprintf(p, sizeof(p), "%s/meminfo", dir);
	unlink(p);
	rmdir(dir);
}

static void test_class_key(void **state)
{
	struct ci_hw a = { "Intel Xeon Gold 6338", 2, 128, 252 }, b = a;
	struct wl_err e = { "" };
	char k1[CI_KEY_MAX], k2[CI_KEY_MAX];
	(void)state;

	/* same hardware, same key; hw-<16 hex> */
	assert_int_equal(ci_class_key(&a, NULL, NULL, k1, sizeof(k1), &e), 0);
	assert_int_equal(ci_class_key(&b, "", "", k2, sizeof(k2), &e), 0);
	assert_string_equal(k1, k2);
	assert_int_equal(strlen(k1), 19);
	assert_memory_equal(k1, "hw-", 3);
	/* any difference (RAM, CPUs, sockets, model) is another class */
	b.mem_gib = 504;
	assert_int_equal(ci_class_key(&b, NULL, NULL, k2, sizeof(k2), &e), 0);
	assert_string_not_equal(k1, k2);
	b = a;
	b.cpus = 64;
	assert_int_equal(ci_class_key(&b, NULL, NULL, k2, sizeof(k2), &e), 0);
	assert_string_not_equal(k1, k2);
	b = a;
	snprintf(b.cpu_model, sizeof(b.cpu_model), "AMD EPYC 7763");
	assert_int_equal(ci_class_key(&b, NULL, NULL, k2, sizeof(k2), &e), 0);
	assert_string_not_equal(k1, k2);

	/* the instance type wins over the hash; already a valid name: kept as is */
	assert_int_equal(ci_class_key(&a, "m5.large", NULL, k1, sizeof(k1), &e), 0);
	assert_string_equal(k1, "it-m5.large");
	/* upper case is lowered; other characters become '-' with a hash suffix, so
	 * "Standard_D4s_v3" and "standard-d4s-v3" stay different classes */
	assert_int_equal(ci_class_key(&a, "Standard_D4s_v3", NULL, k1, sizeof(k1), &e), 0);
	assert_memory_equal(k1, "it-standard-d4s-v3-", 19);
	assert_int_equal(strlen(k1), 19 + 8);
	assert_int_equal(ci_class_key(&a, "standard-d4s-v3", NULL, k2, sizeof(k2), &e), 0);
	assert_string_equal(k2, "it-standard-d4s-v3");
	/* a long type fits in 63 characters and ends alphanumeric */
	char longt[200];
	memset(longt, 'x', sizeof(longt) - 1);
	longt[sizeof(longt) - 1] = '\0';
	assert_int_equal(ci_class_key(&a, longt, NULL, k1, sizeof(k1), &e), 0);
	assert_true(strlen(k1) <= 63);
	/* an instance type of nothing usable falls back to the hash */
	assert_int_equal(ci_class_key(&a, "___", NULL, k1, sizeof(k1), &e), 0);
	assert_memory_equal(k1, "hw-", 3);

	/* the override wins; a useless one is an error naming the key */
	assert_int_equal(ci_class_key(&a, "m5.large", "rack7-gen3", k1, sizeof(k1), &e), 0);
	assert_string_equal(k1, "rack7-gen3");
	assert_int_equal(ci_class_key(&a, NULL, "!!!", k1, sizeof(k1), &e), -EINVAL);
	assert_non_null(strstr(e.msg, "model.idle_class"));
	/* too small a buffer */
	char small[8];
	assert_true(ci_class_key(&a, NULL, NULL, small, sizeof(small), &e) < 0);
}

static const char *OBJ =
	"{\"apiVersion\":\"wattlet.dev/v1alpha1\",\"kind\":\"NodeClassIdle\","
	"\"metadata\":{\"name\":\"hw-1\"},\"status\":{\"nodes\":{"
	"\"a\":{\"time\":\"2025-12-03T19:00:00Z\",\"meter\":\"powercap\",\"zones\":{"
	"  \"package\":{\"watts\":40.0,\"samples\":600,\"source\":\"learned-fit\",\"span\":0.4,"
	"  \"rmse\":0.2},\"dram\":{\"watts\":3.0,\"samples\":600,\"source\":\"learned-low\"}}},"
	"\"b\":{\"time\":\"2025-12-03T19:30:00.123Z\",\"meter\":\"powercap\",\"zones\":{"
	"  \"package\":{\"watts\":41.0,\"samples\":100,\"source\":\"learned-fit\"}}},"
	"\"c\":{\"time\":\"2025-12-03T18:00:00Z\",\"meter\":\"powercap\",\"zones\":{"
	"  \"package\":{\"watts\":44.0,\"samples\":100,\"source\":\"learned-low\"}}},"
	/* d: too few samples; e: not a learned source; f: other meter; g: stale (8 d) */
	"\"d\":{\"time\":\"2025-12-03T19:00:00Z\",\"meter\":\"powercap\",\"zones\":{"
	"  \"package\":{\"watts\":1.0,\"samples\":10,\"source\":\"learned-fit\"}}},"
	"\"e\":{\"time\":\"2025-12-03T19:00:00Z\",\"meter\":\"powercap\",\"zones\":{"
	"  \"package\":{\"watts\":77.0,\"samples\":600,\"source\":\"fallback\"}}},"
	"\"f\":{\"time\":\"2025-12-03T19:00:00Z\",\"meter\":\"hwmon\",\"zones\":{"
	"  \"package\":{\"watts\":90.0,\"samples\":600,\"source\":\"learned-fit\"}}},"
	"\"g\":{\"time\":\"2025-11-25T19:00:00Z\",\"meter\":\"powercap\",\"zones\":{"
	"  \"package\":{\"watts\":99.0,\"samples\":600,\"source\":\"learned-fit\"}}},"
	/* malformed entries: skipped and counted */
	"\"h\":{\"time\":\"yesterday\",\"meter\":\"powercap\",\"zones\":{}},"
	"\"i\":\"not an object\","
	"\"j\":{\"time\":\"2025-12-03T19:00:00Z\",\"meter\":\"powercap\",\"zones\":{"
	"  \"package\":{\"watts\":-5,\"samples\":600,\"source\":\"learned-fit\"},"
	"  \"bogus\":{\"watts\":5,\"samples\":600,\"source\":\"learned-fit\"},"
	"  \"dram\":{\"watts\":\"3\",\"samples\":600,\"source\":\"learned-fit\"}}}"
	"}}}";

static void test_parse_merge(void **state)
{
	struct ci_entry ent[16];
	size_t n, total, bad;
	struct wl_err e = { "" };
	double w[ZONE_COUNT];
	unsigned used[ZONE_COUNT];
	(void)state;

	assert_int_equal(ci_parse(OBJ, strlen(OBJ), ent, 16, &n, &total, &bad, &e), 0);
	assert_int_equal(total, 10);
	assert_int_equal(bad, 2); /* h (time) and i (not an object) */
	assert_int_equal(n, 8);   /* j parses with no usable zone */
	assert_string_equal(ent[0].node, "a");
	assert_int_equal(ent[0].time_s, NOW - 3600);
	assert_int_equal(ent[1].time_s, NOW - 1800); /* fractional seconds accepted */
	assert_true(ent[0].zone[ZONE_PACKAGE].watts == 40.0);
	assert_int_equal(ent[0].zone[ZONE_PACKAGE].samples, 600);
	assert_true(ent[0].zone[ZONE_PACKAGE].span == 0.4);
	assert_int_equal(ent[7].zone_mask, 0); /* j: negative, unknown zone, string watts */

	/* package: the median of a, b, c (40, 41, 44) = 41; d, e, f, g left out */
	ci_merge(ent, n, "powercap", NOW, 7 * 86400, w, used);
	assert_true(w[ZONE_PACKAGE] == 41.0);
	assert_int_equal(used[ZONE_PACKAGE], 3);
	assert_true(w[ZONE_DRAM] == 3.0);
	assert_int_equal(used[ZONE_DRAM], 1);
	assert_true(w[ZONE_CORE] < 0);
	assert_int_equal(used[ZONE_CORE], 0);

	/* an even count: the mean of the middle two; c (2 h old) aged out */
	ci_merge(ent, n, "powercap", NOW, 5400, w, used);
	assert_true(w[ZONE_PACKAGE] == 40.5);
	assert_int_equal(used[ZONE_PACKAGE], 2);

	/* another meter kind sees only its own */
	ci_merge(ent, n, "hwmon", NOW, 7 * 86400, w, used);
	assert_true(w[ZONE_PACKAGE] == 90.0);
	/* entries from the future (clock skew > 1 h) are not trusted */
	ci_merge(ent, n, "powercap", NOW - 3 * 3600, 7 * 86400, w, used);
	assert_true(w[ZONE_PACKAGE] == 44.0); /* c is 1 h in the past there; a, b 2+ h ahead */

	/* nothing: no value */
	ci_merge(ent, 0, "powercap", NOW, 7 * 86400, w, used);
	assert_true(w[ZONE_PACKAGE] < 0);

	/* cap: entries beyond it are counted, not stored */
	assert_int_equal(ci_parse(OBJ, strlen(OBJ), ent, 2, &n, &total, &bad, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(total, 10);
}

static void test_parse_bad(void **state)
{
	struct ci_entry ent[4];
	size_t n = 99, total = 99, bad = 99;
	struct wl_err e = { "" };
	(void)state;

	assert_int_equal(ci_parse("[1,2]", 5, ent, 4, &n, &total, &bad, &e), -EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(ci_parse("{\"status\":", 10, ent, 4, &n, &total, &bad, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "NodeClassIdle"));
	assert_int_equal(ci_parse("", 0, ent, 4, &n, NULL, NULL, &e), -EINVAL);
	/* an object without status: no entries, no error */
	assert_int_equal(ci_parse("{\"metadata\":{}}", 15, ent, 4, &n, &total, &bad, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(total, 0);
	/* status.nodes of the wrong type */
	assert_int_equal(ci_parse("{\"status\":{\"nodes\":[1]}}", 24, ent, 4, &n, &total, &bad, &e),
			 0);
	assert_int_equal(n, 0);
	/* a node name longer than the buffer */
	char big[600];
	int len = snprintf(big, sizeof(big), "{\"status\":{\"nodes\":{\"%0300d\":{\"time\":"
			   "\"2025-12-03T19:00:00Z\",\"meter\":\"x\",\"zones\":{}}}}}", 0);
	assert_int_equal(ci_parse(big, (size_t)len, ent, 4, &n, &total, &bad, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(bad, 1);
}

static void test_bodies(void **state)
{
	struct ci_entry m = { .time_s = NOW, .zone_mask = 1u << ZONE_PACKAGE | 1u << ZONE_DRAM };
	struct ci_hw hw = { "Xeon", 2, 128, 252 };
	struct ci_entry back[4];
	size_t n, total, bad;
	struct wl_err e = { "" };
	json_t *root;
	char *s;
	(void)state;

	snprintf(m.node, sizeof(m.node), "node-1");
	snprintf(m.meter, sizeof(m.meter), "powercap");
	m.zone[ZONE_PACKAGE] = (struct ci_zone){ 40.25, 600, "learned-fit", 0.5, 0.1 };
	m.zone[ZONE_DRAM] = (struct ci_zone){ NAN, 600, "learned-fit", 0, 0 }; /* left out */

	/* merge patch: only our key, plus an evicted one set to null */
	s = ci_patch_body(&m, "old-node");
	assert_non_null(s);
	root = json_loads(s, 0, NULL);
	assert_non_null(root);
	json_t *nodes = json_object_get(json_object_get(root, "status"), "nodes");
	assert_int_equal(json_object_size(nodes), 2);
	assert_true(json_is_null(json_object_get(nodes, "old-node")));
	assert_string_equal(jpath_str(nodes, "node-1.time"), "2025-12-03T20:00:00Z");
	json_decref(root);
	/* what we write parses back to what we had */
	assert_int_equal(ci_parse(s, strlen(s), back, 4, &n, &total, &bad, &e), 0);
	free(s);
	assert_int_equal(n, 1); /* the null entry is bad, not an entry */
	assert_int_equal(back[0].time_s, NOW);
	assert_int_equal(back[0].zone_mask, 1u << ZONE_PACKAGE);
	assert_true(back[0].zone[ZONE_PACKAGE].watts == 40.25);
	assert_string_equal(back[0].zone[ZONE_PACKAGE].source, "learned-fit");

	/* never evicts itself */
	s = ci_patch_body(&m, "node-1");
	root = json_loads(s, 0, NULL);
	assert_int_equal(json_object_size(jpath(root, "status.nodes")), 1);
	json_decref(root);
	free(s);

	s = ci_create_body("hw-0123", &hw, &m);
	assert_non_null(s);
	root = json_loads(s, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(root, "kind")), "NodeClassIdle");
	assert_string_equal(jpath_str(root, "metadata.name"), "hw-0123");
	assert_string_equal(jpath_str(root, "spec.hardware"), "Xeon; 2 sockets; 128 cpus; 252 GiB");
	json_decref(root);
	free(s);
}

/* A full object: a new node evicts the stalest entry only when it is stale; a node with
 * an entry always updates it; below the cap nobody evicts. */
static void test_evict(void **state)
{
	static struct ci_entry ent[CI_MAX_NODES];
	const char *ev = "x";
	(void)state;

	for (int i = 0; i < CI_MAX_NODES; i++) {
		snprintf(ent[i].node, sizeof(ent[i].node), "n%d", i);
		ent[i].time_s = NOW - 3600 - i; /* n31 the stalest, 1 h old */
	}
	/* below the cap */
	assert_int_equal(ci_evict_pick(ent, 10, 10, "new", NOW, 86400, &ev), 0);
	assert_null(ev);
	/* full of fresh entries: a new node does not publish */
	assert_int_equal(ci_evict_pick(ent, CI_MAX_NODES, CI_MAX_NODES, "new", NOW, 86400, &ev), 1);
	assert_null(ev);
	/* ... but a node that has an entry updates it */
	assert_int_equal(ci_evict_pick(ent, CI_MAX_NODES, CI_MAX_NODES, "n5", NOW, 86400, &ev), 0);
	assert_null(ev);
	/* the stalest is older than max_age: evicted in the same patch */
	ent[7].time_s = NOW - 8 * 86400;
	assert_int_equal(ci_evict_pick(ent, CI_MAX_NODES, CI_MAX_NODES, "new", NOW, 7 * 86400, &ev), 0);
	assert_non_null(ev);
	assert_string_equal(ev, "n7");
	/* unparseable entries count toward the cap but cannot be picked */
	assert_int_equal(ci_evict_pick(ent, 0, CI_MAX_NODES, "new", NOW, 86400, &ev), 1);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_hw_read),
	cmocka_unit_test(test_class_key),
	cmocka_unit_test(test_parse_merge),
	cmocka_unit_test(test_parse_bad),
	cmocka_unit_test(test_bodies),
	cmocka_unit_test(test_evict))
