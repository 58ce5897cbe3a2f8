// A small C interface over libphonenumber's C++ PhoneNumberUtil and PhoneNumberMatcher,
// so that Swift sees plain C values and no C++ or protobuf type (issue 16).
// Only Sources/SMSCore/Phone/PhoneNumber+LibPhoneNumber.swift calls it.
#ifndef CPHONENUMBER_H
#define CPHONENUMBER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// PhoneNumberUtil::ErrorType, plus the validation outcomes of a number that parsed.
typedef enum {
    CPN_OK = 0,
    CPN_INVALID_COUNTRY_CODE = 1,
    CPN_NOT_A_NUMBER = 2,
    CPN_TOO_SHORT_AFTER_IDD = 3,
    CPN_TOO_SHORT_NSN = 4,
    CPN_TOO_LONG_NSN = 5,
} cpn_parse_error;

/// PhoneNumberUtil::ValidationResult of IsPossibleNumberWithReason.
typedef enum {
    CPN_IS_POSSIBLE = 0,
    CPN_IS_POSSIBLE_LOCAL_ONLY = 1,
    CPN_POSSIBLE_INVALID_COUNTRY_CODE = 2,
    CPN_TOO_SHORT = 3,
    CPN_INVALID_LENGTH = 4,
    CPN_TOO_LONG = 5,
} cpn_possibility;

/// PhoneNumberUtil::PhoneNumberType, same order.
typedef enum {
    CPN_FIXED_LINE = 0,
    CPN_MOBILE = 1,
    CPN_FIXED_LINE_OR_MOBILE = 2,
    CPN_TOLL_FREE = 3,
    CPN_PREMIUM_RATE = 4,
    CPN_SHARED_COST = 5,
    CPN_VOIP = 6,
    CPN_PERSONAL_NUMBER = 7,
    CPN_PAGER = 8,
    CPN_UAN = 9,
    CPN_VOICEMAIL = 10,
    CPN_UNKNOWN = 11,
} cpn_number_type;

/// PhoneNumberUtil::PhoneNumberFormat.
typedef enum {
    CPN_FORMAT_E164 = 0,
    CPN_FORMAT_INTERNATIONAL = 1,
    CPN_FORMAT_NATIONAL = 2,
} cpn_format;

/// Everything one parse learns, in fixed-size fields (no allocation crosses the boundary).
typedef struct {
    int32_t country_code;       ///< the calling code, e.g. 61; 0 when the parse failed
    int32_t possibility;        ///< cpn_possibility
    int32_t valid;              ///< 1 when IsValidNumber
    int32_t type;               ///< cpn_number_type (CPN_UNKNOWN for invalid numbers)
    char e164[20];              ///< "+61412345678", NUL-terminated
    char region[4];             ///< "AU"; "001" for global services; "ZZ" when no region matches
} cpn_number;

/// Parses `input` (UTF-8, `length` bytes) as written in `region` (ISO 3166 alpha-2, "ZZ" when
/// the input starts with +). Returns a cpn_parse_error; `out` is filled when CPN_OK.
/// Thread-safe: PhoneNumberUtil::GetInstance() is a thread-safe singleton.
int32_t cpn_parse(const char *input, size_t length, const char *region, cpn_number *out);

/// The calling code of `region` (e.g. 61 for "AU"), 0 when libphonenumber has no metadata for it.
int32_t cpn_country_code_for_region(const char *region);

/// The main region of a calling code ("GB" for 44, "001" for 800, "ZZ" when unknown) into `out` (4 bytes).
void cpn_region_for_country_code(int32_t country_code, char *out);

/// Formats the E.164 number `e164` in `format` into `out` (`capacity` bytes, NUL-terminated).
/// Returns the length written, or -1 when `e164` does not parse or `out` is too small.
int32_t cpn_format_number(const char *e164, cpn_format format, char *out, size_t capacity);

/// One number found in a text: where it is (byte offsets into the UTF-8 text) and what it is.
typedef struct {
    int32_t start;
    int32_t length;
    cpn_number number;
} cpn_match;

/// Finds valid numbers in `text` (UTF-8, `length` bytes) as PhoneNumberMatcher does with
/// leniency VALID, reading national numbers as `region`'s. Writes at most `capacity` matches
/// into `out` and returns how many it wrote.
size_t cpn_find_numbers(const char *text, size_t length, const char *region, cpn_match *out, size_t capacity);

/// Checks the lock-free metadata reading that cpn_parse uses for valid numbers against
/// PhoneNumberUtil's GetRegionCodeForNumber and GetNumberType, over every region's example numbers
/// and `variants` changed copies of each (digits replaced, dropped, added; a fixed seed). Writes
/// how many numbers it compared to `checked`; returns how many disagreed. For tests.
size_t cpn_verify_metadata_reader(size_t variants, size_t *checked);

#ifdef __cplusplus
}
#endif

#endif
