/* Range and Content-Range values (RFC 9110 14): one byte range per request, which is all df asks
 * for and all it serves; several ranges are refused so the caller falls back to the whole body. */
#include "net/http_parse.h"

/* Reads 1..18 decimal digits at v[*i]; DF_ERR when there are none or too many. */
static int digits(struct slice v, size_t *i, uint64_t *out)
{
	size_t s = *i;
	uint64_t n = 0;
	while (*i < v.n && v.p[*i] >= '0' && v.p[*i] <= '9') {
		if (*i - s == 18)
			return DF_ERR;
		n = n * 10 + (uint64_t)(v.p[*i] - '0');
		(*i)++;
	}
	if (*i == s)
		return DF_ERR;
	*out = n;
	return DF_OK;
}

static void skip_ows(struct slice v, size_t *i)
{
	while (*i < v.n && (v.p[*i] == ' ' || v.p[*i] == '\t'))
		(*i)++;
}

int http_range_parse(struct slice v, struct http_range *r)
{
	*r = (struct http_range){0};
	size_t i = 0;
	skip_ows(v, &i);
	if (v.n - i < 6 || !slice_caseeq((struct slice){v.p + i, 6}, "bytes="))
		return DF_ERR;
	i += 6;
	skip_ows(v, &i);
	if (i < v.n && v.p[i] != '-') {
		if (digits(v, &i, &r->first) != DF_OK)
			return DF_ERR;
		r->has_first = 1;
	}
	if (i >= v.n || v.p[i] != '-')
		return DF_ERR;
	i++;
	if (i < v.n && v.p[i] >= '0' && v.p[i] <= '9') {
		if (digits(v, &i, &r->last) != DF_OK)
			return DF_ERR;
		r->has_last = 1;
	}
	skip_ows(v, &i);
	if (i != v.n) /* several ranges, or garbage */
		return DF_ERR;
	if (!r->has_first && !r->has_last)
		return DF_ERR;
	if (r->has_first && r->has_last && r->last < r->first)
		return DF_ERR;
	return DF_OK;
}

int http_range_resolve(const struct http_range *r, uint64_t size, uint64_t *start, uint64_t *end)
{
	if (!r->has_first) {
		/* suffix: the last N bytes (all of them when N >= size); "-0" is unsatisfiable */
		if (r->last == 0 || size == 0)
			return DF_ERR;
		*start = r->last >= size ? 0 : size - r->last;
		*end = size - 1;
		return DF_OK;
	}
	if (r->first >= size)
		return DF_ERR;
	*start = r->first;
	*end = r->has_last && r->last < size ? r->last : size - 1;
	return DF_OK;
}

int http_content_range_parse(struct slice v, struct http_content_range *cr)
{
	*cr = (struct http_content_range){.total = -1};
	size_t i = 0;
	skip_ows(v, &i);
	if (v.n - i < 6 || !slice_caseeq((struct slice){v.p + i, 6}, "bytes "))
		return DF_ERR;
	i += 6;
	skip_ows(v, &i);
	if (i < v.n && v.p[i] == '*') {
		cr->unsatisfied = 1;
		i++;
	} else {
		if (digits(v, &i, &cr->start) != DF_OK || i >= v.n || v.p[i] != '-')
			return DF_ERR;
		i++;
		if (digits(v, &i, &cr->end) != DF_OK || cr->end < cr->start)
			return DF_ERR;
	}
	if (i >= v.n || v.p[i] != '/')
		return DF_ERR;
	i++;
	if (i < v.n && v.p[i] == '*' && !cr->unsatisfied) {
		i++;
	} else {
		uint64_t t;
		if (digits(v, &i, &t) != DF_OK)
			return DF_ERR;
		cr->total = (int64_t)t;
		if (!cr->unsatisfied && cr->end >= t)
			return DF_ERR;
	}
	skip_ows(v, &i);
	return i == v.n ? DF_OK : DF_ERR;
}
