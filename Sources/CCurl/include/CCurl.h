// Typed wrappers over libcurl's variadic calls, which Swift cannot call directly.
// Each wrapper pins the argument type that the option expects, so a wrong type is a compile error
// instead of undefined behaviour inside libcurl.
#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>
#include <stddef.h>

typedef size_t (*ccurl_data_callback)(char *data, size_t size, size_t count, void *context);

CURLcode ccurl_easy_set_long(CURL *easy, CURLoption option, long value);
CURLcode ccurl_easy_set_offset(CURL *easy, CURLoption option, curl_off_t value);
CURLcode ccurl_easy_set_string(CURL *easy, CURLoption option, const char *value);
CURLcode ccurl_easy_set_pointer(CURL *easy, CURLoption option, void *value);
CURLcode ccurl_easy_set_list(CURL *easy, CURLoption option, struct curl_slist *value);
CURLcode ccurl_easy_set_callback(CURL *easy, CURLoption option, ccurl_data_callback callback);
/// Copies `length` bytes into libcurl (CURL_BLOB_COPY), for certificates and keys held in memory.
CURLcode ccurl_easy_set_blob(CURL *easy, CURLoption option, const void *data, size_t length);

CURLcode ccurl_easy_get_long(CURL *easy, CURLINFO info, long *value);
CURLcode ccurl_easy_get_pointer(CURL *easy, CURLINFO info, void **value);

CURLMcode ccurl_multi_set_long(CURLM *multi, CURLMoption option, long value);

/// The result code of a finished transfer: reads the union inside CURLMsg.
CURLcode ccurl_message_result(const CURLMsg *message);

/// curl_global_init(CURL_GLOBAL_ALL): the flag is a macro expression Swift does not import.
CURLcode ccurl_global_init(void);

/// Whether the loaded libcurl was built with HTTP/2 (nghttp2), and its version string.
int ccurl_has_http2(void);
const char *ccurl_version(void);

#endif
