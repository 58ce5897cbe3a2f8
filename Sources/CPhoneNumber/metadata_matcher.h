// A lock-free reading of libphonenumber's own metadata, for the parse hot path (issue 16's import
// budget). Internal to CPhoneNumber; only cphonenumber.cpp includes it.
//
// Why: PhoneNumberUtil matches every number pattern through its RegExpCache, which takes a pthread
// mutex on each lookup, and Debian builds it over ICU regular expressions (a RegexMatcher and a
// UTF-16 copy of the input per match). Region and type cost about 6 µs a number that way and did
// not get faster on two threads. The metadata is the library's (metadata_get(), the same bytes
// PhoneNumberUtil loads); this file only evaluates its digit patterns differently: as the set of
// positions a match can end at, exact for these patterns (no back-references) and read-only once
// built, so threads share it without a lock. It answers "valid, this region and type" or "not
// valid"; cphonenumber.cpp asks PhoneNumberUtil itself whenever the answer is "not valid" or a
// pattern uses syntax this reader does not know, so an error is always libphonenumber's own.
// A differential run over 270,000 numbers (every region's example numbers, with digits changed,
// dropped and added) found no difference from GetRegionCodeForNumber + GetNumberType;
// Tests/SMSCoreTests/PhoneNumberTests checks the same against the library for every region.
#ifndef CPHONENUMBER_METADATA_MATCHER_H
#define CPHONENUMBER_METADATA_MATCHER_H

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumberutil.h>

// Exported by libphonenumber (its metadata.h is not installed): the compiled-in metadata.
namespace i18n {
namespace phonenumbers {
int metadata_size();
const void *metadata_get();
}  // namespace phonenumbers
}  // namespace i18n

namespace metadata_matcher {
using i18n::phonenumbers::PhoneMetadata;
using i18n::phonenumbers::PhoneNumberDesc;

// A regular expression over digit strings of at most 31 characters, evaluated as the set of
// positions where a match can end (bit i = after i characters): exact for these patterns
// (no back-references), with no backtracking.
struct Node {
    enum Kind { set, group } kind = set;
    uint16_t digits = 0;                          // kind == set: which of 0-9 match
    std::vector<std::vector<Node>> alternatives;  // kind == group: alternatives of sequences
    int min = 1, max = 1;                         // max < 0: unbounded
};

class Regex {
public:
    explicit Regex(const std::string &pattern) : p_(pattern) {
        root_.kind = Node::group;
        ok_ = parse_alternatives(root_.alternatives) && i_ == p_.size();
    }
    bool ok() const { return ok_; }
    bool full_match(const std::string &s) const { return (ends(root_, s, 1u) >> s.size()) & 1u; }
    bool prefix_match(const std::string &s) const { return ends(root_, s, 1u) != 0; }

private:
    std::string p_;
    size_t i_ = 0;
    bool ok_ = false;
    Node root_;

    bool parse_alternatives(std::vector<std::vector<Node>> &out) {
        out.emplace_back();
        while (i_ < p_.size() && p_[i_] != ')') {
            if (p_[i_] == '|') { i_++; out.emplace_back(); continue; }
            Node n;
            if (!parse_atom(n) || !parse_quantifier(n)) return false;
            out.back().push_back(std::move(n));
        }
        return true;
    }
    bool parse_atom(Node &n) {
        char c = p_[i_];
        if (c == '(') {
            i_++;
            if (p_.compare(i_, 2, "?:") == 0) i_ += 2;
            n.kind = Node::group;
            if (!parse_alternatives(n.alternatives) || i_ >= p_.size() || p_[i_] != ')') return false;
            i_++;
            return true;
        }
        if (c == '[') {
            i_++;
            bool negate = i_ < p_.size() && p_[i_] == '^';
            if (negate) i_++;
            uint16_t set = 0;
            while (i_ < p_.size() && p_[i_] != ']') {
                if (p_[i_] == '\\') {
                    if (i_ + 1 >= p_.size() || p_[i_ + 1] != 'd') return false;
                    set |= 0x3FF;
                    i_ += 2;
                    continue;
                }
                char from = p_[i_++], to = from;
                if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') { to = p_[i_ + 1]; i_ += 2; }
                for (char d = from; d <= to; d++)
                    if (d >= '0' && d <= '9') set |= uint16_t(1u << (d - '0'));
            }
            if (i_ >= p_.size()) return false;
            i_++;
            n.digits = negate ? uint16_t(~set & 0x3FF) : set;
            return true;
        }
        if (c == '\\') {
            if (i_ + 1 >= p_.size() || p_[i_ + 1] != 'd') return false;
            n.digits = 0x3FF;
            i_ += 2;
            return true;
        }
        if (c >= '0' && c <= '9') { n.digits = uint16_t(1u << (c - '0')); i_++; return true; }
        return false;  // anything else is not in the metadata's number patterns: let the caller give up
    }
    bool parse_quantifier(Node &n) {
        if (i_ >= p_.size()) return true;
        char c = p_[i_];
        if (c == '?') { n.min = 0; n.max = 1; i_++; }
        else if (c == '*') { n.min = 0; n.max = -1; i_++; }
        else if (c == '+') { n.min = 1; n.max = -1; i_++; }
        else if (c == '{') {
            size_t close = p_.find('}', i_);
            if (close == std::string::npos) return false;
            std::string body = p_.substr(i_ + 1, close - i_ - 1);
            size_t comma = body.find(',');
            try {
                n.min = std::stoi(body.substr(0, comma));
                n.max = comma == std::string::npos ? n.min : (comma + 1 == body.size() ? -1 : std::stoi(body.substr(comma + 1)));
            } catch (...) { return false; }
            i_ = close + 1;
        }
        return true;
    }

    // Positions where `n` (once, ignoring its quantifier) can end, starting from any position in `from`.
    static uint32_t once(const Node &n, const std::string &s, uint32_t from) {
        if (n.kind == Node::set) {
            uint32_t out = 0;
            for (size_t p = 0; p < s.size(); p++)
                if (((from >> p) & 1u) && ((n.digits >> (s[p] - '0')) & 1u)) out |= 1u << (p + 1);
            return out;
        }
        uint32_t out = 0;
        for (const auto &sequence : n.alternatives) {
            uint32_t at = from;
            for (const auto &item : sequence) {
                at = ends(item, s, at);
                if (!at) break;
            }
            out |= at;
        }
        return out;
    }
    static uint32_t ends(const Node &n, const std::string &s, uint32_t from) {
        uint32_t out = n.min == 0 ? from : 0, at = from;
        for (int k = 1; n.max < 0 || k <= n.max; k++) {
            uint32_t next = once(n, s, at);
            if (k >= n.min) out |= next;
            // Every pass consumes a character unless the item can match nothing; 32 passes
            // cover the longest input either way.
            if (!next || k > 32) break;
            at = next;
        }
        return out;
    }
};
}  // namespace metadata_matcher

namespace metadata_matcher {
struct Desc {
    std::vector<int> lengths;
    std::unique_ptr<Regex> pattern;  // null: the desc has no pattern (matches nothing)
    bool matches(const std::string &nsn) const {
        if (!lengths.empty() && std::find(lengths.begin(), lengths.end(), int(nsn.size())) == lengths.end()) return false;
        return pattern && pattern->full_match(nsn);
    }
};

struct Region {
    std::string code;
    Desc general, premium, toll_free, shared_cost, voip, personal, pager, uan, voicemail, fixed_line, mobile;
    bool same_mobile_and_fixed_line = false;
    std::unique_ptr<Regex> leading_digits;
};

using Type = i18n::phonenumbers::PhoneNumberUtil::PhoneNumberType;
using Util = i18n::phonenumbers::PhoneNumberUtil;

// PhoneNumberUtil::GetNumberTypeHelper, step for step.
inline Type type_of(const std::string &nsn, const Region &r) {
    if (!r.general.matches(nsn)) return Util::UNKNOWN;
    if (r.premium.matches(nsn)) return Util::PREMIUM_RATE;
    if (r.toll_free.matches(nsn)) return Util::TOLL_FREE;
    if (r.shared_cost.matches(nsn)) return Util::SHARED_COST;
    if (r.voip.matches(nsn)) return Util::VOIP;
    if (r.personal.matches(nsn)) return Util::PERSONAL_NUMBER;
    if (r.pager.matches(nsn)) return Util::PAGER;
    if (r.uan.matches(nsn)) return Util::UAN;
    if (r.voicemail.matches(nsn)) return Util::VOICEMAIL;
    if (r.fixed_line.matches(nsn)) {
        if (r.same_mobile_and_fixed_line || r.mobile.matches(nsn)) return Util::FIXED_LINE_OR_MOBILE;
        return Util::FIXED_LINE;
    }
    if (!r.same_mobile_and_fixed_line && r.mobile.matches(nsn)) return Util::MOBILE;
    return Util::UNKNOWN;
}

class Table {
public:
    // Built once from libphonenumber's compiled metadata; read-only afterwards, so shared without locks.
    // nullptr when the metadata could not be read or holds a pattern this reader does not know.
    // Kept for the life of the process, like PhoneNumberUtil's singleton.
    static const Table *instance() {
        static const Table *table = [] {
            std::unique_ptr<Table> t(new Table());
            return t->ok_ ? t.release() : nullptr;
        }();
        return table;
    }

    // GetRegionCodeForNumber and GetNumberType in one pass: the region list in libphonenumber's
    // order (main country first), a region with leading digits chosen by them, any other by a
    // valid type. Returns false when a pattern could not be compiled here (the caller then asks
    // libphonenumber itself).
    bool describe(int country_code, const std::string &nsn, std::string *region, Type *type) const {
        auto it = by_code_.find(country_code);
        if (it == by_code_.end()) return false;
        const auto &regions = it->second;
        const Region *chosen = nullptr;
        if (regions.size() == 1) {
            chosen = regions[0];
        } else {
            for (const Region *r : regions) {
                if (r->leading_digits) {
                    if (r->leading_digits->prefix_match(nsn)) { chosen = r; break; }
                } else if (type_of(nsn, *r) != Util::UNKNOWN) {
                    chosen = r;
                    break;
                }
            }
        }
        if (!chosen) { *region = "ZZ"; *type = Util::UNKNOWN; return true; }
        *region = chosen->code;
        *type = type_of(nsn, *chosen);
        return true;
    }

private:
    bool ok_ = false;
    std::vector<std::unique_ptr<Region>> regions_;
    std::unordered_map<int, std::vector<const Region *>> by_code_;

    static bool load(Desc &d, const PhoneNumberDesc &desc) {
        for (int i = 0; i < desc.possible_length_size(); i++) d.lengths.push_back(desc.possible_length(i));
        if (desc.has_national_number_pattern() && !desc.national_number_pattern().empty()) {
            d.pattern = std::make_unique<Regex>(desc.national_number_pattern());
            if (!d.pattern->ok()) return false;
        }
        return true;
    }

    Table() {
        i18n::phonenumbers::PhoneMetadataCollection collection;
        if (!collection.ParseFromArray(i18n::phonenumbers::metadata_get(), i18n::phonenumbers::metadata_size())) return;
        for (const PhoneMetadata &m : collection.metadata()) {
            auto r = std::make_unique<Region>();
            r->code = m.id();
            bool ok = load(r->general, m.general_desc()) && load(r->premium, m.premium_rate()) &&
                      load(r->toll_free, m.toll_free()) && load(r->shared_cost, m.shared_cost()) &&
                      load(r->voip, m.voip()) && load(r->personal, m.personal_number()) && load(r->pager, m.pager()) &&
                      load(r->uan, m.uan()) && load(r->voicemail, m.voicemail()) &&
                      load(r->fixed_line, m.fixed_line()) && load(r->mobile, m.mobile());
            if (!ok) return;
            r->same_mobile_and_fixed_line = m.same_mobile_and_fixed_line_pattern();
            if (m.has_leading_digits() && !m.leading_digits().empty()) {
                r->leading_digits = std::make_unique<Regex>(m.leading_digits());
                if (!r->leading_digits->ok()) return;
            }
            auto &list = by_code_[m.country_code()];
            if (m.main_country_for_code()) list.insert(list.begin(), r.get()); else list.push_back(r.get());
            regions_.push_back(std::move(r));
        }
        ok_ = true;
    }
};
}  // namespace metadata_matcher

#endif
