/* Unit tests of the engines' file editors (core/cfgedit): daemon.json's registry-mirrors added and
 * removed with the user's bytes kept, df's block in hosts.toml, containerd's config_path and the
 * [[registry]] tables of registries.conf; every edit undone by its inverse gives back the input. */
#include <stdlib.h>

#include "core/cfgedit.h"
#include "core/df.h"
#include "test/unit/unit.h"

#define URL "http://127.0.0.1:65001"

static char out[8192], back[8192];
static size_t olen, blen;
static const char *why;

/* add url, then remove it: the result of the add is returned, the round trip must give in back */
static const char *json_add(const char *in, int round_trip)
{
	int rc = cfgedit_json_mirrors(in, strlen(in), URL, 0, out, sizeof out, &olen, &why);
	CHECK_EQ(rc, CFGEDIT_CHANGED);
	if (rc != CFGEDIT_CHANGED)
		return "";
	CHECK_EQ(strlen(out), olen);
	int m;
	CHECK_EQ(cfgedit_json_object(out, olen, &m, &why), CFGEDIT_SAME);
	CHECK_EQ(cfgedit_json_mirrors(out, olen, URL, 0, back, sizeof back, &blen, &why), CFGEDIT_SAME);
	CHECK_EQ(cfgedit_json_mirrors(out, olen, URL, 1, back, sizeof back, &blen, &why), CFGEDIT_CHANGED);
	if (round_trip)
		CHECK_STR(back, in);
	return out;
}

static void json_add_remove(void)
{
	CHECK_STR(json_add("", 0), "{\n  \"registry-mirrors\": [\"" URL "\"]\n}\n");
	CHECK_STR(back, "{}\n");
	CHECK_STR(json_add(" \n", 0), "{\n  \"registry-mirrors\": [\"" URL "\"]\n}\n");
	CHECK_STR(json_add("{}\n", 0), "{\n  \"registry-mirrors\": [\"" URL "\"]\n}\n");
	CHECK_STR(back, "{}\n");
	CHECK_STR(json_add("{\"debug\": true}", 1), "{\"registry-mirrors\": [\"" URL "\"], \"debug\": true}");
	CHECK_STR(json_add("{\n  \"debug\": true,\n  \"log-level\": \"warn\"\n}\n", 1),
		  "{\n  \"registry-mirrors\": [\"" URL "\"],\n  \"debug\": true,\n  \"log-level\": \"warn\"\n}\n");
	/* an existing array: in front, laid out like its entries */
	CHECK_STR(json_add("{\"registry-mirrors\": [\"https://m.example\"]}", 1),
		  "{\"registry-mirrors\": [\"" URL "\", \"https://m.example\"]}");
	CHECK_STR(json_add("{\n  \"registry-mirrors\": [\n    \"https://m.example\"\n  ],\n  \"x\": {\"y\": [1, 2.5e3, null]}\n}\n", 1),
		  "{\n  \"registry-mirrors\": [\n    \"" URL "\",\n    \"https://m.example\"\n  ],\n  \"x\": {\"y\": [1, 2.5e3, null]}\n}\n");
	/* an empty array gets the entry; removing it takes the member away */
	CHECK_STR(json_add("{\"a\": 1, \"registry-mirrors\": []}", 0), "{\"a\": 1, \"registry-mirrors\": [\"" URL "\"]}");
	CHECK_STR(back, "{\"a\": 1}");
	/* the member last, after others */
	CHECK_STR(json_add("{\"a\": 1, \"registry-mirrors\": [\"x\"], \"b\": [true, false]}", 1),
		  "{\"a\": 1, \"registry-mirrors\": [\"" URL "\", \"x\"], \"b\": [true, false]}");
}

static void json_present_and_remove(void)
{
	const char *in = "{\"registry-mirrors\": [\"https://a\", \"" URL "/\", \"https://b\"]}";
	CHECK_EQ(cfgedit_json_mirrors(in, strlen(in), URL, 0, out, sizeof out, &olen, &why), CFGEDIT_SAME);
	CHECK_EQ(cfgedit_json_mirrors(in, strlen(in), URL, 1, out, sizeof out, &olen, &why), CFGEDIT_CHANGED);
	CHECK_STR(out, "{\"registry-mirrors\": [\"https://a\", \"https://b\"]}");
	in = "{\"registry-mirrors\": [\"https://a\", \"http:\\/\\/127.0.0.1:65001\"]}"; /* escaped the same */
	CHECK_EQ(cfgedit_json_mirrors(in, strlen(in), URL, 1, out, sizeof out, &olen, &why), CFGEDIT_CHANGED);
	CHECK_STR(out, "{\"registry-mirrors\": [\"https://a\"]}");
	in = "{\"registry-mirrors\": [\"" URL "\"], \"z\": 0}";
	CHECK_EQ(cfgedit_json_mirrors(in, strlen(in), URL, 1, out, sizeof out, &olen, &why), CFGEDIT_CHANGED);
	CHECK_STR(out, "{\"z\": 0}");
	in = "{\"z\": 0}";
	CHECK_EQ(cfgedit_json_mirrors(in, strlen(in), URL, 1, out, sizeof out, &olen, &why), CFGEDIT_SAME);
	CHECK_EQ(cfgedit_json_mirrors(in, strlen(in), URL, 0, out, 10, &olen, &why), CFGEDIT_ERR);
	CHECK_STR(why, "the result does not fit");
}

static void json_refused(void)
{
	static const char *const bad[] = {
		"[]", "{", "{\"a\" 1}", "{\"a\": 1,}", "{\"a\": tru}", "{\"a\": 01}", "{\"a\": \"\\x\"}", "{} {}",
		"{\"registry-mirrors\": \"http://x\"}", "{\"registry-mirrors\": [1]}",
		"{\"registry-mirrors\": [], \"registry-mirrors\": []}", "{\"a\": \"\x01\"}", "{\"a\": -}", "{\"a\": 1.}",
		"\"x\"",
	};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		why = NULL;
		CHECK_EQ(cfgedit_json_mirrors(bad[i], strlen(bad[i]), URL, 0, out, sizeof out, &olen, &why), CFGEDIT_ERR);
		CHECK(why != NULL);
		CHECK_EQ(cfgedit_json_mirrors(bad[i], strlen(bad[i]), URL, 1, out, sizeof out, &olen, &why), CFGEDIT_ERR);
	}
	char deep[200];
	memset(deep, '[', sizeof deep);
	memcpy(deep, "{\"a\":", 5);
	CHECK_EQ(cfgedit_json_mirrors(deep, sizeof deep, URL, 0, out, sizeof out, &olen, &why), CFGEDIT_ERR);
	CHECK_STR(why, "line 1: nested more than 64 deep");
	CHECK_EQ(cfgedit_json_mirrors("{\n\"a\": 1,\n}", 11, URL, 0, out, sizeof out, &olen, &why), CFGEDIT_ERR);
	CHECK_STR(why, "line 3: expected a string");
	CHECK_EQ(cfgedit_json_mirrors("{}", 2, "a\"b", 0, out, sizeof out, &olen, &why), CFGEDIT_ERR);
}

#define BLOCK CFGEDIT_BEGIN "\n[host.\"" URL "\"]\n  capabilities = [\"pull\", \"resolve\"]\n" CFGEDIT_END "\n"

static const char *toml_put(const char *in, int want, int round_trip)
{
	int rc = cfgedit_toml_put(in, strlen(in), BLOCK, URL, out, sizeof out, &olen, &why);
	CHECK_EQ(rc, want);
	if (rc != CFGEDIT_CHANGED)
		return "";
	CHECK_EQ(cfgedit_toml_put(out, olen, BLOCK, URL, back, sizeof back, &blen, &why), CFGEDIT_SAME);
	CHECK_EQ(cfgedit_toml_remove(out, olen, back, sizeof back, &blen, &why), CFGEDIT_CHANGED);
	if (round_trip)
		CHECK_STR(back, in);
	return out;
}

static void toml_block(void)
{
	CHECK_STR(toml_put("", CFGEDIT_CHANGED, 1), BLOCK);
	CHECK_STR(toml_put("server = \"https://r\"\n", CFGEDIT_CHANGED, 1), "server = \"https://r\"\n\n" BLOCK);
	CHECK_STR(toml_put("server = \"https://r\"", CFGEDIT_CHANGED, 0), "server = \"https://r\"\n\n" BLOCK);
	CHECK_STR(back, "server = \"https://r\"\n");
	/* before the first host table, and the comments right above it */
	const char *in = "server = \"https://r\"\n\n# their mirror\n[host.\"https://m\"]\n  capabilities = [\n    \"pull\",\n  ]\n";
	CHECK_STR(toml_put(in, CFGEDIT_CHANGED, 1),
		  "server = \"https://r\"\n\n" BLOCK "\n# their mirror\n[host.\"https://m\"]\n  capabilities = [\n    \"pull\",\n  ]\n");
	/* a header inside a multi-line string or array is no table */
	in = "server = \"https://r\"\nx = '''\n[host.\"https://z\"]\n'''\ny = [\n[1],\n]\n[host.'https://m']\n";
	CHECK_STR(toml_put(in, CFGEDIT_CHANGED, 1),
		  "server = \"https://r\"\nx = '''\n[host.\"https://z\"]\n'''\ny = [\n[1],\n]\n" BLOCK "\n[host.'https://m']\n");
	/* the mirror written by hand: left alone */
	toml_put("[host.\"" URL "\"]\n  capabilities = [\"pull\"]\n", CFGEDIT_MANUAL, 0);
	toml_put("[host . \"" URL "/\" . header]\n", CFGEDIT_MANUAL, 0);
	/* df's block with other content (the address changed): replaced in place */
	in = "a = 1\n\n" CFGEDIT_BEGIN "\n[host.\"http://old\"]\n" CFGEDIT_END "\n\n[host.\"https://m\"]\n";
	CHECK_EQ(cfgedit_toml_put(in, strlen(in), BLOCK, URL, out, sizeof out, &olen, &why), CFGEDIT_CHANGED);
	CHECK_STR(out, "a = 1\n\n" BLOCK "\n[host.\"https://m\"]\n");
	CHECK_EQ(cfgedit_toml_remove(out, olen, back, sizeof back, &blen, &why), CFGEDIT_CHANGED);
	CHECK_STR(back, "a = 1\n\n[host.\"https://m\"]\n");
	/* nothing to remove; broken markers; not TOML */
	CHECK_EQ(cfgedit_toml_remove("a = 1\n", 6, out, sizeof out, &olen, &why), CFGEDIT_SAME);
	in = CFGEDIT_BEGIN "\n[host.\"x\"]\n";
	CHECK_EQ(cfgedit_toml_remove(in, strlen(in), out, sizeof out, &olen, &why), CFGEDIT_ERR);
	CHECK_STR(why, "df's begin line without its end line");
	in = BLOCK BLOCK;
	CHECK_EQ(cfgedit_toml_put(in, strlen(in), BLOCK, URL, out, sizeof out, &olen, &why), CFGEDIT_ERR);
	in = "a = 1\n[host.\"x\"\n";
	CHECK_EQ(cfgedit_toml_put(in, strlen(in), BLOCK, URL, out, sizeof out, &olen, &why), CFGEDIT_ERR);
	CHECK_STR(why, "line 2 does not scan as TOML");
	in = "a = [\n";
	CHECK_EQ(cfgedit_toml_put(in, strlen(in), BLOCK, URL, out, sizeof out, &olen, &why), CFGEDIT_ERR);
	CHECK_STR(why, "the file ends inside a multi-line string or array");
	CHECK_EQ(cfgedit_toml_put("junk\n", 5, BLOCK, URL, out, sizeof out, &olen, &why), CFGEDIT_ERR);
	CHECK_EQ(cfgedit_toml_put("", 0, BLOCK, URL, out, 20, &olen, &why), CFGEDIT_ERR);
	/* CRLF files */
	in = "server = \"https://r\"\r\n\r\n[host.\"https://m\"]\r\n";
	CHECK_STR(toml_put(in, CFGEDIT_CHANGED, 1), "server = \"https://r\"\r\n\r\n" BLOCK "\n[host.\"https://m\"]\r\n");
}

static void containerd_config(void)
{
	char p[256];
	int mirrors;
	const char *in = "version = 2\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
			 "    [plugins.\"io.containerd.grpc.v1.cri\".registry]\n      config_path = \"/etc/containerd/certs.d:/etc/docker/certs.d\"\n";
	CHECK_EQ(cfgedit_containerd_config_path(in, strlen(in), p, sizeof p, &mirrors), 1);
	CHECK_STR(p, "/etc/containerd/certs.d");
	CHECK_EQ(mirrors, 0);
	in = "version = 3\n[plugins.'io.containerd.cri.v1.images'.registry]\nconfig_path = '/k3s/certs.d'\n";
	CHECK_EQ(cfgedit_containerd_config_path(in, strlen(in), p, sizeof p, &mirrors), 1);
	CHECK_STR(p, "/k3s/certs.d");
	in = "[plugins.\"io.containerd.grpc.v1.cri\"]\n  registry.config_path = \"/d\"\n";
	CHECK_EQ(cfgedit_containerd_config_path(in, strlen(in), p, sizeof p, &mirrors), 1);
	CHECK_STR(p, "/d");
	in = "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"\"\n"
	     "[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"docker.io\"]\n  endpoint = [\"https://x\"]\n";
	CHECK_EQ(cfgedit_containerd_config_path(in, strlen(in), p, sizeof p, &mirrors), 0);
	CHECK_EQ(mirrors, 1);
	/* the machine's own: no config_path */
	in = "version = 2\n\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
	     "      bin_dir = \"/usr/lib/cni\"\n";
	CHECK_EQ(cfgedit_containerd_config_path(in, strlen(in), p, sizeof p, &mirrors), 0);
	CHECK_EQ(cfgedit_containerd_config_path("[x\n", 3, p, sizeof p, &mirrors), -1);
	in = "[plugins.cri.registry]\nconfig_path = \"/a/very/long/path\"\n";
	CHECK_EQ(cfgedit_containerd_config_path(in, strlen(in), p, 5, &mirrors), -1);
}

static void registries_conf(void)
{
	const char *in = "unqualified-search-registries = [\"docker.io\"]\n\n[[registry]]\nlocation = \"quay.io\"\n\n"
			 "[[registry]]\nprefix = \"docker.io\"\nlocation = \"mirror.example/hub\"\n[[registry.mirror]]\nlocation = \"m\"\n";
	CHECK_EQ(cfgedit_registries_has(in, strlen(in), "docker.io"), 1);
	CHECK_EQ(cfgedit_registries_has(in, strlen(in), "quay.io"), 1);
	CHECK_EQ(cfgedit_registries_has(in, strlen(in), "mirror.example/hub"), 0);
	CHECK_EQ(cfgedit_registries_has(in, strlen(in), "m"), 0);
	CHECK_EQ(cfgedit_registries_has("# nothing\n", 10, "docker.io"), 0);
	CHECK_EQ(cfgedit_registries_has("[[registry]\n", 12, "docker.io"), -1);
}

static const struct unit_test tests[] = {
	{"json_add_remove", json_add_remove}, {"json_present_and_remove", json_present_and_remove},
	{"json_refused", json_refused},       {"toml_block", toml_block},
	{"containerd_config", containerd_config}, {"registries_conf", registries_conf},
};
UNIT_MAIN("cfgedit", tests)
