/* Unit tests of the pure parts of the private-source gate: which registrant URL may speak for a
 * content-addressed task (swarm/access.c). */
#include "swarm/access.h"
#include "unit.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_vouches(void)
{
	const char *src = "https://reg.example/v2/team/app/blobs/sha256:" HEX64;
	/* the same URL, in another spelling */
	CHECK(access_url_vouches(src, "https://REG.example:443/v2/team/app/blobs/sha256:" HEX64, "", HEX64));
	/* another repository of the same registry: the registry vouches for the digest it names */
	CHECK(access_url_vouches(src, "https://reg.example/v2/other/blobs/sha256:" HEX64, "", HEX64));
	/* another origin proves nothing: its server may answer 2xx for anything */
	CHECK(!access_url_vouches(src, "https://evil.example/v2/team/app/blobs/sha256:" HEX64, "", HEX64));
	CHECK(!access_url_vouches(src, "http://reg.example/v2/team/app/blobs/sha256:" HEX64, "", HEX64));
	CHECK(!access_url_vouches(src, "https://reg.example:8443/v2/team/app/blobs/sha256:" HEX64, "", HEX64));
	/* the same origin, a path that does not name the digest (a public file there) */
	CHECK(!access_url_vouches(src, "https://reg.example/public/readme", "", HEX64));
	CHECK(!access_url_vouches("http://h/private/f", "http://h/pub/readme", "", HEX64));
	/* the same URL but for the filtered parameters */
	CHECK(access_url_vouches("http://h/f?sig=a&x=1", "http://h/f?x=1&sig=b", "sig", HEX64));
	CHECK(!access_url_vouches("http://h/f?sig=a&x=1", "http://h/f?x=2&sig=a", "sig", HEX64));
	/* no digest to look for, or not URLs */
	CHECK(!access_url_vouches(src, "https://reg.example/v2/other/blobs/x", "", ""));
	CHECK(!access_url_vouches(src, "ftp://reg.example/" HEX64, "", HEX64));
	CHECK(!access_url_vouches("nonsense", src, "", HEX64));
}

static const struct unit_test tests[] = {
	{"vouches", test_vouches},
};
UNIT_MAIN("access", tests)
