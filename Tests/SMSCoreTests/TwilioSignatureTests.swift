import SMSCore
import Testing

@Suite("Twilio signatures")
struct TwilioSignatureTests {
    // Twilio's published example (security docs and its helper libraries' tests).
    static let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    static let token = "12345"
    static let parameters: [(String, String)] = [
        ("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"), ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    static let expected = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

    @Test("signing Twilio's published example gives Twilio's published signature")
    func publishedExample() {
        #expect(TwilioSignature.sign(url: Self.url, parameters: Self.parameters, authToken: Self.token) == Self.expected)
    }

    @Test("the order parameters arrive in does not matter")
    func parameterOrderIsIrrelevant() {
        let shuffled = Array(Self.parameters.reversed())

        #expect(TwilioSignature.sign(url: Self.url, parameters: shuffled, authToken: Self.token) == Self.expected)
        #expect(TwilioSignature.isValid(signature: Self.expected, url: Self.url, parameters: shuffled, authToken: Self.token))
    }

    @Test("repeated keys are ordered by value")
    func repeatedKeysSortByValue() {
        let a = TwilioSignature.sign(url: Self.url, parameters: [("K", "b"), ("K", "a")], authToken: Self.token)
        let b = TwilioSignature.sign(url: Self.url, parameters: [("K", "a"), ("K", "b")], authToken: Self.token)

        #expect(a == b)
    }

    @Test("the published example validates")
    func publishedExampleValidates() {
        #expect(TwilioSignature.isValid(signature: Self.expected, url: Self.url, parameters: Self.parameters, authToken: Self.token))
    }

    @Test("a URL with the default https port validates against a signature made without it, and the reverse")
    func defaultHTTPSPortVariants() {
        let withPort = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
        let signedWithPort = TwilioSignature.sign(url: withPort, parameters: Self.parameters, authToken: Self.token)

        #expect(TwilioSignature.isValid(signature: Self.expected, url: withPort, parameters: Self.parameters, authToken: Self.token))
        #expect(TwilioSignature.isValid(signature: signedWithPort, url: Self.url, parameters: Self.parameters, authToken: Self.token))
    }

    @Test("the default http port :80 is optional too")
    func defaultHTTPPortVariants() {
        let signed = TwilioSignature.sign(url: "http://api.example.com/webhooks/twilio/status", parameters: [], authToken: "t")

        #expect(TwilioSignature.isValid(signature: signed, url: "http://api.example.com:80/webhooks/twilio/status", parameters: [], authToken: "t"))
    }

    @Test("a non-default port is part of the signed URL")
    func otherPortsMatter() {
        let signed = TwilioSignature.sign(url: "http://127.0.0.1:3000/webhooks/twilio/status", parameters: [], authToken: "t")

        #expect(!TwilioSignature.isValid(signature: signed, url: "http://127.0.0.1/webhooks/twilio/status", parameters: [], authToken: "t"))
        #expect(!TwilioSignature.isValid(signature: signed, url: "http://127.0.0.1:3001/webhooks/twilio/status", parameters: [], authToken: "t"))
        #expect(!TwilioSignature.isValid(signature: signed, url: "https://127.0.0.1:3000/webhooks/twilio/status", parameters: [], authToken: "t"))
    }

    @Test("a tampered parameter value fails")
    func tamperedValue() {
        var tampered = Self.parameters
        tampered[2] = ("Digits", "1235")

        #expect(!TwilioSignature.isValid(signature: Self.expected, url: Self.url, parameters: tampered, authToken: Self.token))
    }

    @Test("an added parameter fails")
    func addedParameter() {
        let added = Self.parameters + [("Extra", "")]

        #expect(!TwilioSignature.isValid(signature: Self.expected, url: Self.url, parameters: added, authToken: Self.token))
    }

    @Test("a changed URL fails")
    func changedURL() {
        #expect(!TwilioSignature.isValid(
            signature: Self.expected, url: "https://mycompany.com/myapp.php?foo=1&bar=3", parameters: Self.parameters,
            authToken: Self.token))
    }

    @Test("the wrong auth token fails")
    func wrongToken() {
        #expect(!TwilioSignature.isValid(signature: Self.expected, url: Self.url, parameters: Self.parameters, authToken: "54321"))
    }

    @Test("an empty or garbage signature fails")
    func emptySignature() {
        #expect(!TwilioSignature.isValid(signature: "", url: Self.url, parameters: Self.parameters, authToken: Self.token))
        #expect(!TwilioSignature.isValid(signature: "not base64 !", url: Self.url, parameters: Self.parameters, authToken: Self.token))
    }

    // Twilio's JSON-body example, as in its helper libraries' request-validator tests.
    static let jsonBody = Array(#"{"property": "value", "boolean": true}"#.utf8)
    static let jsonBodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    static let jsonURL = url + "&bodySHA256=" + jsonBodyHash
    static let jsonSignature = "a9nBmqA0ju/hNViExpshrM61xv4="

    @Test("bodySHA256 is the lowercase hex SHA-256 of the raw body")
    func bodyHash() {
        #expect(TwilioSignature.bodySHA256(Self.jsonBody) == Self.jsonBodyHash)
        #expect(TwilioSignature.sign(url: Self.jsonURL, parameters: [], authToken: Self.token) == Self.jsonSignature)
    }

    @Test("a JSON body signed with bodySHA256 validates")
    func jsonBodyValidates() {
        #expect(TwilioSignature.isValid(signature: Self.jsonSignature, url: Self.jsonURL, body: Self.jsonBody, authToken: Self.token))
    }

    @Test("a JSON body validates with the default port variant too")
    func jsonBodyPortVariant() {
        let withPort = "https://mycompany.com:443/myapp.php?foo=1&bar=2&bodySHA256=" + Self.jsonBodyHash

        #expect(TwilioSignature.isValid(signature: Self.jsonSignature, url: withPort, body: Self.jsonBody, authToken: Self.token))
    }

    @Test("an altered JSON body fails even though the URL signature is right")
    func alteredJSONBody() {
        let altered = Array(#"{"property": "value", "boolean": false}"#.utf8)

        #expect(!TwilioSignature.isValid(signature: Self.jsonSignature, url: Self.jsonURL, body: altered, authToken: Self.token))
    }

    @Test("a JSON body without bodySHA256 in the URL fails")
    func jsonWithoutHash() {
        let signed = TwilioSignature.sign(url: Self.url, parameters: [], authToken: Self.token)

        #expect(!TwilioSignature.isValid(signature: signed, url: Self.url, body: Self.jsonBody, authToken: Self.token))
    }

    @Test("a JSON body with the wrong token fails")
    func jsonWrongToken() {
        #expect(!TwilioSignature.isValid(signature: Self.jsonSignature, url: Self.jsonURL, body: Self.jsonBody, authToken: "54321"))
    }
}
