// The C interface of include/cphonenumber.h, implemented over libphonenumber 8.12 (Debian's
// libphonenumber-dev). C++ exceptions and types stay in this file.
#include "cphonenumber.h"

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumbermatch.h>
#include <phonenumbers/phonenumbermatcher.h>
#include <phonenumbers/phonenumberutil.h>

#include "metadata_matcher.h"

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberMatch;
using i18n::phonenumbers::PhoneNumberMatcher;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

// GetInstance() builds the metadata once, under the library's own lock, and is safe to call
// from any thread; every method used here is const.
const PhoneNumberUtil &util() { return *PhoneNumberUtil::GetInstance(); }

void copy_string(const std::string &s, char *out, size_t capacity) {
    size_t n = s.size() < capacity - 1 ? s.size() : capacity - 1;
    std::memcpy(out, s.data(), n);
    out[n] = '\0';
}

void describe(const PhoneNumber &number, cpn_number *out) {
    const PhoneNumberUtil &u = util();
    std::string region;
    PhoneNumberUtil::PhoneNumberType type = PhoneNumberUtil::UNKNOWN;
    // The same answers as GetRegionCodeForNumber + GetNumberType, without their lock and ICU
    // (metadata_matcher.h), whenever the reader is available.
    const metadata_matcher::Table *table = metadata_matcher::Table::instance();
    std::string nsn;
    u.GetNationalSignificantNumber(number, &nsn);
    if (!table || nsn.empty() || nsn[0] == '0' || !table->describe(number.country_code(), nsn, &region, &type)) {
        u.GetRegionCodeForNumber(number, &region);
        // GetNumberType answers UNKNOWN exactly when IsValidNumber is false, so one call gives both.
        type = region != "ZZ" ? u.GetNumberType(number) : PhoneNumberUtil::UNKNOWN;
    }
    out->country_code = number.country_code();
    out->type = static_cast<int32_t>(type);
    out->valid = type != PhoneNumberUtil::UNKNOWN ? 1 : 0;
    out->possibility = out->valid ? static_cast<int32_t>(PhoneNumberUtil::IS_POSSIBLE)
                                  : static_cast<int32_t>(u.IsPossibleNumberWithReason(number));
    std::string e164;
    u.Format(number, PhoneNumberUtil::E164, &e164);
    copy_string(e164, out->e164, sizeof out->e164);
    copy_string(region, out->region, sizeof out->region);
}

// describe() for a valid number, read through metadata_matcher.h (no lock, no ICU); false when
// the number is not valid there or the reader is unavailable, and the caller asks the library.
bool describe_valid(const PhoneNumber &number, cpn_number *out) {
    const metadata_matcher::Table *table = metadata_matcher::Table::instance();
    if (!table) return false;
    std::string nsn = std::to_string(number.national_number());
    std::string region;
    PhoneNumberUtil::PhoneNumberType type;
    if (!table->describe(number.country_code(), nsn, &region, &type) || type == PhoneNumberUtil::UNKNOWN) return false;
    out->country_code = number.country_code();
    out->possibility = static_cast<int32_t>(PhoneNumberUtil::IS_POSSIBLE);
    out->valid = 1;
    out->type = static_cast<int32_t>(type);
    copy_string("+" + std::to_string(number.country_code()) + nsn, out->e164, sizeof out->e164);
    copy_string(region, out->region, sizeof out->region);
    return true;
}

bool all_digits(const std::string &s) {
    if (s.empty() || s.size() > 17) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// Parse() normalises its input with a dozen ICU regular expressions, each looked up under the
// library's lock (about 11 µs a number; issue 16's import budget). Input that is already "+digits" or
// plain digits is first read the obvious way: the calling code, or the region's trunk prefix
// dropped. That reading is kept only when the number is valid; anything else (carrier codes,
// international prefixes, a leading 0 that belongs to the number, an invalid number whose
// error matters) goes through Parse(), so the verdict is Parse()'s whenever they could differ.
bool fast_read(const std::string &input, const char *region, PhoneNumber *number) {
    const PhoneNumberUtil &u = util();
    std::string national;
    int country_code = 0;
    if (!input.empty() && input[0] == '+') {
        std::string digits = input.substr(1);
        if (!all_digits(digits)) return false;
        // Calling codes are prefix-free: the first 1-3 digits that name one are it.
        for (size_t n = 1; n <= 3 && n < digits.size(); n++) {
            int candidate = std::stoi(digits.substr(0, n));
            std::string main_region;
            u.GetRegionCodeForCountryCode(candidate, &main_region);
            if (main_region != "ZZ") {
                country_code = candidate;
                national = digits.substr(n);
                break;
            }
        }
    } else {
        if (!all_digits(input)) return false;
        country_code = u.GetCountryCodeForRegion(region);
        std::string trunk;
        u.GetNddPrefixForRegion(region, true, &trunk);
        national = !trunk.empty() && input.compare(0, trunk.size(), trunk) == 0 ? input.substr(trunk.size()) : input;
    }
    if (country_code == 0 || national.empty() || national[0] == '0' || national.size() > 17) return false;
    number->set_country_code(country_code);
    number->set_national_number(std::stoull(national));
    return true;
}

}  // namespace

extern "C" int32_t cpn_parse(const char *input, size_t length, const char *region, cpn_number *out) {
    try {
        std::memset(out, 0, sizeof *out);
        std::string text(input, length);
        PhoneNumber fast;
        if (fast_read(text, region, &fast)) {
            if (describe_valid(fast, out)) return CPN_OK;
            std::memset(out, 0, sizeof *out);
        }
        PhoneNumber number;
        PhoneNumberUtil::ErrorType error = util().Parse(text, region, &number);
        if (error != PhoneNumberUtil::NO_PARSING_ERROR) return static_cast<int32_t>(error);
        describe(number, out);
        return CPN_OK;
    } catch (...) {
        return CPN_NOT_A_NUMBER;
    }
}

extern "C" int32_t cpn_country_code_for_region(const char *region) {
    try {
        return util().GetCountryCodeForRegion(region);
    } catch (...) {
        return 0;
    }
}

extern "C" void cpn_region_for_country_code(int32_t country_code, char *out) {
    try {
        std::string region;
        util().GetRegionCodeForCountryCode(country_code, &region);
        copy_string(region, out, 4);
    } catch (...) {
        copy_string("ZZ", out, 4);
    }
}

extern "C" int32_t cpn_format_number(const char *e164, cpn_format format, char *out, size_t capacity) {
    try {
        PhoneNumber number;
        if (util().Parse(e164, "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) return -1;
        std::string formatted;
        util().Format(number, static_cast<PhoneNumberUtil::PhoneNumberFormat>(format), &formatted);
        if (formatted.size() + 1 > capacity) return -1;
        copy_string(formatted, out, capacity);
        return static_cast<int32_t>(formatted.size());
    } catch (...) {
        return -1;
    }
}

extern "C" size_t cpn_find_numbers(const char *text, size_t length, const char *region, cpn_match *out,
                                   size_t capacity) {
    try {
        PhoneNumberMatcher matcher(util(), std::string(text, length), region, PhoneNumberMatcher::VALID, 65535);
        size_t count = 0;
        PhoneNumberMatch match;
        while (count < capacity && matcher.HasNext() && matcher.Next(&match)) {
            out[count].start = match.start();
            out[count].length = match.length();
            std::memset(&out[count].number, 0, sizeof out[count].number);
            describe(match.number(), &out[count].number);
            count++;
        }
        return count;
    } catch (...) {
        return 0;
    }
}

extern "C" size_t cpn_verify_metadata_reader(size_t variants, size_t *checked) {
    *checked = 0;
    const metadata_matcher::Table *table = metadata_matcher::Table::instance();
    if (!table) return 1;
    const PhoneNumberUtil &u = util();
    std::vector<PhoneNumber> examples;
    std::set<std::string> regions;
    u.GetSupportedRegions(&regions);
    for (const auto &region : regions) {
        for (int type = PhoneNumberUtil::FIXED_LINE; type <= PhoneNumberUtil::VOICEMAIL; type++) {
            PhoneNumber example;
            if (u.GetExampleNumberForType(region, static_cast<PhoneNumberUtil::PhoneNumberType>(type), &example))
                examples.push_back(example);
        }
    }
    std::set<int> global_codes;
    u.GetSupportedGlobalNetworkCallingCodes(&global_codes);
    for (int code : global_codes) {
        PhoneNumber example;
        if (u.GetExampleNumberForNonGeoEntity(code, &example)) examples.push_back(example);
    }
    uint64_t seed = 20261208;
    auto next = [&seed](uint64_t bound) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<size_t>((seed >> 33) % bound);
    };
    size_t mismatches = 0;
    for (const PhoneNumber &example : examples) {
        std::string original = std::to_string(example.national_number());
        for (size_t v = 0; v <= variants; v++) {
            std::string nsn = original;
            if (v > 0) {
                for (size_t e = 0, edits = 1 + next(3); e < edits; e++) nsn[next(nsn.size())] = static_cast<char>('0' + next(10));
                if (next(10) == 0 && nsn.size() > 4) nsn.pop_back();
                if (next(10) == 0) nsn.push_back(static_cast<char>('0' + next(10)));
            }
            if (nsn[0] == '0' || nsn.size() > 17) continue;
            PhoneNumber number;
            number.set_country_code(example.country_code());
            number.set_national_number(std::stoull(nsn));
            std::string library_region;
            u.GetRegionCodeForNumber(number, &library_region);
            PhoneNumberUtil::PhoneNumberType library_type =
                library_region == "ZZ" ? PhoneNumberUtil::UNKNOWN : u.GetNumberType(number);
            std::string region;
            PhoneNumberUtil::PhoneNumberType type;
            (*checked)++;
            if (!table->describe(example.country_code(), nsn, &region, &type)) {
                mismatches++;
                continue;
            }
            if (region != library_region || type != library_type) mismatches++;
        }
    }
    return mismatches;
}
