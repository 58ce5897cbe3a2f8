import SMSCore
import Testing

@Suite("Message templates")
struct MessageTemplateTests {
    static let standard = MessageTemplate.standardPlaceholders
    static let standardSorted = ["attributes.*", "email", "first_name", "last_name", "phone"]

    struct ParseCase: Sendable, CustomTestStringConvertible {
        let source: String
        let placeholders: [String]
        var testDescription: String { source }
    }

    static let parseCases: [ParseCase] = [
        ParseCase(
            source: "Hi {{first_name}}, 20% off at {{ attributes.store }}! Reply STOP to opt out",
            placeholders: ["first_name", "attributes.store"]),
        ParseCase(source: "{{last_name}} {{ first_name }} {{last_name}} {{first_name|there}}", placeholders: ["last_name", "first_name"]),
        ParseCase(source: "No placeholders here. Reply STOP to opt out", placeholders: []),
        ParseCase(source: "Use code {SAVE10} at checkout } {", placeholders: []),
        ParseCase(source: "{{email}}", placeholders: ["email"]),
        ParseCase(source: "{{  phone\t}}", placeholders: ["phone"]),
        ParseCase(source: "Hi {{ first_name | my friend }}", placeholders: ["first_name"]),
    ]

    @Test("placeholders are listed once each, in order of first use", arguments: parseCases)
    func placeholdersInOrder(_ testCase: ParseCase) throws {
        let template = try MessageTemplate(testCase.source, allowedPlaceholders: Self.standard)

        #expect(template.placeholders == testCase.placeholders)
        #expect(template.source == testCase.source)
    }

    struct RenderCase: Sendable, CustomTestStringConvertible {
        let label: String
        let source: String
        let values: [String: String]
        let expected: String
        var testDescription: String { label }
    }

    static let renderCases: [RenderCase] = [
        RenderCase(label: "a value fills its placeholder", source: "Hi {{first_name}}!", values: ["first_name": "Ana"], expected: "Hi Ana!"),
        RenderCase(label: "spaces inside braces are ignored", source: "Hi {{ first_name }}!", values: ["first_name": "Ana"], expected: "Hi Ana!"),
        RenderCase(label: "a missing value without fallback renders nothing", source: "Hi {{first_name}}!", values: [:], expected: "Hi !"),
        RenderCase(label: "a missing value uses the fallback", source: "Hi {{first_name|there}}!", values: [:], expected: "Hi there!"),
        RenderCase(label: "an empty value uses the fallback", source: "Hi {{first_name|there}}!", values: ["first_name": ""], expected: "Hi there!"),
        RenderCase(label: "a blank value uses the fallback", source: "Hi {{first_name|there}}!", values: ["first_name": "  "], expected: "Hi there!"),
        RenderCase(label: "a present value wins over the fallback", source: "Hi {{first_name|there}}!", values: ["first_name": "Bo"], expected: "Hi Bo!"),
        RenderCase(label: "a spaced fallback is trimmed", source: "Hi {{ first_name | my friend }}!", values: [:], expected: "Hi my friend!"),
        RenderCase(label: "an empty fallback renders nothing", source: "Hi {{first_name|}}!", values: [:], expected: "Hi !"),
        RenderCase(
            label: "custom attributes are looked up by their dotted name", source: "See you at {{attributes.store}}.",
            values: ["attributes.store": "Main St"], expected: "See you at Main St."),
        RenderCase(
            label: "a repeated placeholder is filled each time", source: "{{first_name}}, yes {{first_name}}",
            values: ["first_name": "Ana"], expected: "Ana, yes Ana"),
        RenderCase(
            label: "values are inserted verbatim, never expanded again", source: "Hi {{first_name}}!",
            values: ["first_name": "{{email}}"], expected: "Hi {{email}}!"),
        RenderCase(
            label: "single braces are ordinary text", source: "Code {SAVE10}: {{first_name}}",
            values: ["first_name": "Ana"], expected: "Code {SAVE10}: Ana"),
        RenderCase(
            label: "the example campaign body",
            source: "Hi {{first_name|there}}, 20% off at {{ attributes.store }}! Reply STOP to opt out",
            values: ["attributes.store": "Main St"], expected: "Hi there, 20% off at Main St! Reply STOP to opt out"),
    ]

    @Test("rendering fills values and falls back when a contact has none", arguments: renderCases)
    func rendering(_ testCase: RenderCase) throws {
        let template = try MessageTemplate(testCase.source, allowedPlaceholders: Self.standard)

        #expect(template.render(testCase.values) == testCase.expected)
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        let label: String
        let source: String
        let allowed: Set<String>
        let expected: MessageTemplateError
        var testDescription: String { label }

        init(_ label: String, _ source: String, allowed: Set<String> = MessageTemplate.standardPlaceholders, _ expected: MessageTemplateError) {
            self.label = label
            self.source = source
            self.allowed = allowed
            self.expected = expected
        }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase("empty template", "", .emptyTemplate),
        ErrorCase("whitespace-only template", " \n\t ", .emptyTemplate),
        ErrorCase("1601 characters", String(repeating: "a", count: 1601), .tooLong(length: 1601, maximum: 1600)),
        ErrorCase("801 emoji are 1602 UTF-16 code units", String(repeating: "😀", count: 801), .tooLong(length: 1602, maximum: 1600)),
        ErrorCase("unclosed at the end", "Hi {{first_name", .unclosedPlaceholder(offset: 3)),
        ErrorCase("unclosed before another placeholder", "Hi {{first_name, see {{email}}", .unclosedPlaceholder(offset: 3)),
        ErrorCase("single closing brace does not close", "Hi {{first_name}", .unclosedPlaceholder(offset: 3)),
        ErrorCase("stray closing braces", "Hi first_name}}", .strayClosingBraces(offset: 13)),
        ErrorCase("stray closing braces after a placeholder", "{{email}} and }}", .strayClosingBraces(offset: 14)),
        ErrorCase("empty placeholder", "Hi {{}}", .emptyPlaceholder(offset: 3)),
        ErrorCase("blank placeholder", "{{  }}", .emptyPlaceholder(offset: 0)),
        ErrorCase("fallback without a name", "Hi {{|there}}", .emptyPlaceholder(offset: 3)),
        ErrorCase("uppercase name", "{{First_Name}}", .malformedPlaceholder(name: "First_Name", offset: 0)),
        ErrorCase("name with a space", "Hi {{first name}}", .malformedPlaceholder(name: "first name", offset: 3)),
        ErrorCase("name starting with a digit", "{{1st}}", .malformedPlaceholder(name: "1st", offset: 0)),
        ErrorCase("dotted name without a key", "{{attributes.}}", .malformedPlaceholder(name: "attributes.", offset: 0)),
        ErrorCase("two dots", "{{attributes.a.b}}", .malformedPlaceholder(name: "attributes.a.b", offset: 0)),
        ErrorCase("unknown placeholder", "Use {{coupon}}", .unknownPlaceholder(name: "coupon", allowed: standardSorted)),
        ErrorCase(
            "attributes need the wildcard", "{{attributes.plan}}", allowed: ["first_name"],
            .unknownPlaceholder(name: "attributes.plan", allowed: ["first_name"])),
        ErrorCase(
            "the wildcard does not allow the bare prefix", "{{attributes}}",
            .unknownPlaceholder(name: "attributes", allowed: standardSorted)),
    ]

    @Test("malformed templates are refused with the reason", arguments: errorCases)
    func errors(_ testCase: ErrorCase) {
        #expect(throws: testCase.expected) {
            try MessageTemplate(testCase.source, allowedPlaceholders: testCase.allowed)
        }
    }

    @Test("a template of exactly 1600 characters is accepted")
    func maximumLengthIsAccepted() throws {
        let template = try MessageTemplate(String(repeating: "a", count: 1600), allowedPlaceholders: [])

        #expect(template.placeholders.isEmpty)
    }

    @Test("an explicitly allowed placeholder outside the standard set is accepted")
    func customAllowedPlaceholder() throws {
        let template = try MessageTemplate("{{store}}", allowedPlaceholders: ["store"])

        #expect(template.render(["store": "Main St"]) == "Main St")
    }

    @Test("the unknown-placeholder message names it and lists what is allowed")
    func unknownPlaceholderDescription() {
        let error = #expect(throws: MessageTemplateError.self) {
            try MessageTemplate("{{coupon}}", allowedPlaceholders: Self.standard)
        }

        let description = error?.description ?? ""
        #expect(description.contains("{{coupon}}"))
        #expect(description.contains("{{first_name}}, {{last_name}}, {{phone}}"))
    }

    @Test("the same source parses to equal templates")
    func equality() throws {
        let first = try MessageTemplate("Hi {{first_name|there}}", allowedPlaceholders: Self.standard)
        let second = try MessageTemplate("Hi {{first_name|there}}", allowedPlaceholders: Self.standard)

        #expect(first == second)
    }
}
