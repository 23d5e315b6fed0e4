/* apiclient.c - see apiclient.h. */
#include "apiclient.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define API_PATH "/api/v1/workloads"

struct api_client {
	CURL *curl;
	char *url;
	size_t cap;
	struct strbuf body;
};

struct api_client *api_client_new(const char *base_url, size_t body_cap, struct wl_err *err)
{
	struct api_client *c;
	size_t n;

	if (!base_url || !*base_url) {
		err_set(err, EINVAL, "no agent URL");
		return NULL;
	}
	for (n = strlen(base_url); n > 0 && base_url[n - 1] == '/'; n--)
		;
	c = calloc(1, sizeof(*c));
	if (!c) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	c->cap = body_cap;
	strbuf_init(&c->body, body_cap);
	c->url = malloc(n + sizeof(API_PATH));
	c->curl = curl_easy_init();
	if (!c->url || !c->curl) {
		err_set(err, ENOMEM, "out of memory, or libcurl cannot be initialised");
		api_client_free(c);
		return NULL;
	}
	memcpy(c->url, base_url, n);
	memcpy(c->url + n, API_PATH, sizeof(API_PATH));
	return c;
}

void api_client_free(struct api_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl); /* NULL-safe */
	strbuf_release(&c->body);
	free(c->url);
	free(c);
}

const char *api_client_url(const struct api_client *c)
{
	return c->url;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct strbuf *sb = ud;

	if (n && sz > SIZE_MAX / n)
		return 0;
	return strbuf_add(sb, p, sz * n) ? 0 : sz * n;
}

int api_client_get(struct api_client *c, long timeout_ms, const char **body, size_t *len,
		   struct wl_err *err)
{
	char curlerr[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;

	strbuf_reset(&c->body);
	curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->body);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->cap);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK) {
		if (rc == CURLE_WRITE_ERROR && c->body.overflow)
			return err_set(err, E2BIG, "reply from %s is larger than %zu MiB", c->url,
				       c->cap >> 20);
		return err_set(err, ECONNREFUSED, "cannot reach wattlet at %s: %s - is `wattlet "
			       "run` running?", c->url, curlerr[0] ? curlerr : curl_easy_strerror(rc));
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return err_set(err, EPROTO, "wattlet at %s answered HTTP %ld", c->url, status);
	*body = c->body.buf ? c->body.buf : "";
	*len = c->body.len;
	return 0;
}
