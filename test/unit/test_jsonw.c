/* Unit tests of core/jsonw: nesting and commas, escaping, and the hard size cap. */
#include "core/jsonw.h"
#include "test/unit/unit.h"

static void shape(void)
{
	struct jsonw w;
	jsonw_init(&w, 4096);
	jsonw_obj_open(&w, NULL);
	jsonw_str(&w, "a", "x\"y\\z\n\001");
	jsonw_arr_open(&w, "l");
	jsonw_u64(&w, NULL, 1);
	jsonw_i64(&w, NULL, -2);
	jsonw_obj_open(&w, NULL);
	jsonw_bool(&w, "t", 1);
	jsonw_obj_close(&w);
	jsonw_arr_close(&w);
	jsonw_str(&w, "n", NULL);
	jsonw_obj_close(&w);
	CHECK_STR(w.p, "{\"a\":\"x\\\"y\\\\z\\n\\u0001\",\"l\":[1,-2,{\"t\":true}],\"n\":null}");
	CHECK(!w.overflow);
	jsonw_free(&w);
}

static void cap(void)
{
	struct jsonw w;
	jsonw_init(&w, 64);
	jsonw_arr_open(&w, NULL);
	for (int i = 0; i < 100; i++)
		jsonw_str(&w, NULL, "0123456789");
	CHECK(w.overflow);
	CHECK(w.len < 64);
	jsonw_free(&w);
}

static const struct unit_test tests[] = {{"shape", shape}, {"cap", cap}};
UNIT_MAIN("jsonw", tests)
