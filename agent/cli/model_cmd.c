/* model_cmd.c - see model_cmd.h. */
#include "model_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../model/fit.h"
#include "../model/powermodel.h"
#include "../model/record.h"

static void model_usage(FILE *f)
{
	fputs("Usage: wattlet model fit RECORDING [options]\n"
	      "       wattlet model check POWERMODEL.yaml\n"
	      "\n"
	      "fit: fits P = interceptWatts + sum weight * rate(feature) per zone, all coefficients\n"
	      "     >= 0 (NNLS), to a recording made with `wattlet run --record FILE`, and writes a\n"
	      "     PowerModel YAML (docs/api.md) ready for kubectl apply or --model FILE.\n"
	      "  -o, --output FILE      write the YAML here (default: stdout)\n"
	      "      --holdout F        last fraction of the ticks (time order) kept out of the fit\n"
	      "                         and used for R^2 and MAPE (default 0.25; 0..0.9)\n"
	      "      --name NAME        metadata.name (default fitted-model)\n"
	      "      --zones LIST       zones to fit, e.g. package,dram (default: all measured)\n"
	      "      --features LIST    features to use (default: every feature with data)\n"
	      "      --ridge L          non-negative ridge penalty on column-scaled weights (default 0)\n"
	      "      --source S         estimated (default: for nodes without a meter) or measured\n"
	      "      --attribution A    ratio (default) or regression\n"
	      "check: parses and validates a PowerModel file and prints what it does.\n"
	      "See docs/models.md.\n", f);
}

static int parse_list(const char *s, bool zones, uint32_t *mask)
{
	char buf[256], *save = NULL, *tok;

	*mask = 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int v = zones ? zone_from_name(tok) : feature_from_name(tok);
		if (v < 0) {
			fprintf(stderr, "wattlet model fit: unknown %s '%s' (%s)\n", zones ? "zone" : "feature",
				tok, zones ? "package, core, uncore, dram, platform, gpu"
					   : "cpu_time, instructions, cycles, cache_misses, task_clock");
			return -EINVAL;
		}
		*mask |= 1u << v;
	}
	return *mask ? 0 : -EINVAL;
}

static void print_model(FILE *f, const struct powermodel *m)
{
	fprintf(f, "PowerModel %s: attribution %s, priority %d\n", m->name,
		pm_attribution_name(m->attribution), m->priority);
	for (int z = 0; z < ZONE_COUNT; z++) {
		const struct pm_zone *pz = &m->zone[z];
		if (!pz->present)
			continue;
		fprintf(f, "  %-8s %-9s", zone_name(z), pz->estimated ? "estimated" : "measured");
		if (pz->has_regression) {
			fprintf(f, " P = %.3f W", pz->intercept_w);
			for (int ft = 0; ft < FEAT_COUNT; ft++)
				if (pz->coef_mask & (1u << ft))
					fprintf(f, " + %.4g x %s", pz->weight[ft], feature_name(ft));
		}
		if (pz->idle_w >= 0)
			fprintf(f, "; idle %.3f W", pz->idle_w);
		fprintf(f, "; ratio feature %s\n", feature_name(pz->feature));
	}
}

static int cmd_fit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "holdout", required_argument, NULL, 'H' },
		{ "name", required_argument, NULL, 'n' },
		{ "zones", required_argument, NULL, 'z' },
		{ "features", required_argument, NULL, 'f' },
		{ "ridge", required_argument, NULL, 'r' },
		{ "source", required_argument, NULL, 's' },
		{ "attribution", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fit_opts fo = { .holdout = 0.25 };
	struct fit_result res;
	struct powermodel m, back;
	struct wl_err err = { "" };
	struct recording *rec = NULL;
	struct strbuf sb;
	const char *out = NULL, *name = "fitted-model";
	bool estimated = true;
	enum pm_attribution attr = PM_ATTR_RATIO;
	int opt, rc = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		char *end = NULL;
		switch (opt) {
		case 'o': out = optarg; break;
		case 'n': name = optarg; break;
		case 'H':
			fo.holdout = strtod(optarg, &end);
			if (!end || *end || !(fo.holdout >= 0 && fo.holdout <= 0.9)) {
				fprintf(stderr, "wattlet model fit: --holdout '%s' is not in 0..0.9\n", optarg);
				return 2;
			}
			break;
		case 'r':
			fo.ridge = strtod(optarg, &end);
			if (!end || *end || !(fo.ridge >= 0) || !isfinite(fo.ridge)) {
				fprintf(stderr, "wattlet model fit: --ridge '%s' is not a number >= 0\n", optarg);
				return 2;
			}
			break;
		case 'z':
			if (parse_list(optarg, true, &fo.zone_mask))
				return 2;
			break;
		case 'f':
			if (parse_list(optarg, false, &fo.feature_mask))
				return 2;
			break;
		case 's':
			if (strcmp(optarg, "estimated") && strcmp(optarg, "measured")) {
				fprintf(stderr, "wattlet model fit: --source is estimated or measured\n");
				return 2;
			}
			estimated = strcmp(optarg, "estimated") == 0;
			break;
		case 'a':
			if (strcmp(optarg, "ratio") && strcmp(optarg, "regression")) {
				fprintf(stderr, "wattlet model fit: --attribution is ratio or regression\n");
				return 2;
			}
			attr = strcmp(optarg, "regression") == 0 ? PM_ATTR_REGRESSION : PM_ATTR_RATIO;
			break;
		case 'h': model_usage(stdout); return 0;
		default:
			fprintf(stderr, "wattlet model fit: unknown or incomplete option '%s'\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		model_usage(stderr);
		return 2;
	}
	rec = rec_load(argv[optind], false, &err);
	if (!rec) {
		fprintf(stderr, "wattlet model fit: %s\n", err.msg);
		return 1;
	}
	strbuf_init(&sb, 1 << 16);
	if (fit_recording(rec, &fo, &res, &err) != 0 ||
	    fit_to_model(&res, &fo, name, estimated, attr, &m, &err) != 0) {
		fprintf(stderr, "wattlet model fit: %s: %s\n", argv[optind], err.msg);
		goto cleanup;
	}
	{
		char extra[1024] = "";
		for (int z = 0; z < ZONE_COUNT; z++) {
			const struct fit_zone *fz = &res.zone[z];
			if (!fz->fitted)
				continue;
			fprintf(stderr, "zone %-8s P = %.3f W", zone_name(z), fz->intercept_w);
			for (int f = 0; f < FEAT_COUNT; f++)
				if (fz->coef_mask & (1u << f))
					fprintf(stderr, " + %.4g x %s", fz->weight[f], feature_name(f));
			fprintf(stderr, "  (fit on %zu ticks, R2 %.4f; held out %zu: R2 %.4f, MAPE %.2f %%)\n",
				fz->n_train, fz->train_r2, fz->n_test, fz->r2, fz->mape);
			if (isfinite(fz->r2))
				snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
					 "    wattlet.dev/fit-r2.%s: \"%.4f\"\n", zone_name(z), fz->r2);
			if (isfinite(fz->mape))
				snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
					 "    wattlet.dev/fit-mape.%s: \"%.2f\"\n", zone_name(z), fz->mape);
		}
		if (res.notes[0])
			fprintf(stderr, "note: %s\n", res.notes);
		if (pm_to_yaml(&m, extra, &sb) != 0) {
			fprintf(stderr, "wattlet model fit: YAML output too large\n");
			goto cleanup;
		}
	}
	/* what we write must load back through the same validation the agent uses */
	if (pm_parse_yaml(sb.buf, sb.len, &back, &err) != 0) {
		fprintf(stderr, "wattlet model fit: internal error, the written model does not validate: %s\n",
			err.msg);
		goto cleanup;
	}
	if (out) {
		FILE *f = fopen(out, "we");
		if (!f || fwrite(sb.buf, 1, sb.len, f) != sb.len) {
			fprintf(stderr, "wattlet model fit: cannot write %s: %s\n", out, strerror(errno));
			if (f)
				fclose(f);
			goto cleanup;
		}
		if (fclose(f) != 0) {
			fprintf(stderr, "wattlet model fit: cannot write %s: %s\n", out, strerror(errno));
			goto cleanup;
		}
		fprintf(stderr, "wrote %s\n", out);
	} else {
		fwrite(sb.buf, 1, sb.len, stdout);
	}
	rc = 0;
cleanup:
	strbuf_release(&sb);
	rec_free(rec);
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	struct powermodel m;
	struct wl_err err = { "" };

	if (argc != 2) {
		model_usage(stderr);
		return 2;
	}
	if (pm_load_file(argv[1], &m, &err) != 0) {
		fprintf(stderr, "wattlet model check: %s\n", err.msg);
		return 1;
	}
	print_model(stdout, &m);
	return 0;
}

void model_probe_print(const char *model_file, bool have_meter)
{
	struct powermodel m;
	struct wl_err err = { "" };
	uint32_t est = 0;

	printf("model\n");
	if (model_file && model_file[0]) {
		if (pm_load_file(model_file, &m, &err) != 0) {
			printf("  error:    %s (the agent would not start)\n", err.msg);
			return;
		}
		est = pm_estimated_mask(&m);
		printf("  in use:   PowerModel %s from %s (attribution %s)\n", m.name, model_file,
		       pm_attribution_name(m.attribution));
		for (int z = 0; z < ZONE_COUNT; z++)
			if (est & (1u << z))
				printf("            %-9s estimated: %.3f W idle + regression on usage\n",
				       zone_name(z), m.zone[z].intercept_w);
	} else {
		printf("  in use:   builtin-ratio (no model.file)\n");
	}
	printf("  energy source: %s\n", have_meter ? (est ? "meter+model" : "meter") : (est ? "model" : "none"));
	if (!have_meter && !est)
		printf("  => NO ENERGY SOURCE: the agent exports usage only. Apply a PowerModel with\n"
		       "     estimated zones for this hardware (fit one on a metered node with\n"
		       "     `wattlet run --record FILE` and `wattlet model fit FILE`), locally:\n"
		       "     `wattlet run --model FILE` (config model.file). See docs/models.md.\n");
}

int model_main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		model_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "fit") == 0)
		return cmd_fit(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	fprintf(stderr, "wattlet model: unknown subcommand '%s' (fit, check)\n", argv[1]);
	return 2;
}
