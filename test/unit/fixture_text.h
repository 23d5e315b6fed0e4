/* fixture_text.h - assertions over a text (a rendered page, an exposition, a body): that
 * each of a list of strings occurs in it, or that none does. Header-only; include after
 * <cmocka.h>. The failure names the string. */
#ifndef WATTLET_TEST_FIXTURE_TEXT_H
#define WATTLET_TEST_FIXTURE_TEXT_H

#include <stdbool.h>
#include <string.h>

/* assert_text_has(text, "a", "b", ...): each string occurs in text. */
#define assert_text_has(text, ...) \
	text_assert_each_((text), (const char *const[]){ __VA_ARGS__, NULL }, true)
/* assert_text_lacks(text, "a", "b", ...): none of the strings occurs in text. */
#define assert_text_lacks(text, ...) \
	text_assert_each_((text), (const char *const[]){ __VA_ARGS__, NULL }, false)

static inline void text_assert_each_(const char *text, const char *const *needles, bool found)
{
	for (; *needles; needles++)
		if ((strstr(text, *needles) != NULL) != found)
			fail_msg("\"%s\" %s", *needles, found ? "missing" : "present, not expected");
}

#endif
