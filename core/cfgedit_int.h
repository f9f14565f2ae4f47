/* Inside core/cfgedit: the bounded output both editors splice into. Not for other modules. */
#ifndef DF_CFGEDIT_INT_H
#define DF_CFGEDIT_INT_H

#include <string.h>

#include "core/cfgedit.h"

/* The new file, appended piece by piece into the caller's buffer; over once a piece did not fit. */
struct cfgedit_out {
	char *p;
	size_t cap, len;
	int over;
};

static inline void cfgedit_put(struct cfgedit_out *o, const char *s, size_t n)
{
	if (o->over || o->len + n + 1 > o->cap) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = 0;
}

/* The end of an edit: CFGEDIT_CHANGED with the length, or CFGEDIT_ERR when out was too small. */
static inline int cfgedit_done(const struct cfgedit_out *o, size_t *outlen, const char **why)
{
	if (o->over) {
		*why = "the result does not fit";
		return CFGEDIT_ERR;
	}
	*outlen = o->len;
	return CFGEDIT_CHANGED;
}

#endif
