import SMSCore
import Testing

/// Reads every record of `text` as strings, with where each record ends.
private func records(_ text: String, from position: Int = 0) throws -> [(fields: [String], end: Int)] {
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBufferPointer { buffer in
        var reader = CSVReader(bytes: buffer, position: position)
        var fields: [CSVField] = []
        var out: [(fields: [String], end: Int)] = []
        while let bounds = try reader.next(into: &fields) {
            out.append((fields.map { reader.string($0) }, bounds.end))
        }
        return out
    }
}

@Suite("CSV reader")
struct CSVReaderTests {
    @Test("quoted fields hold commas, doubled quotes and line breaks; CRLF, LF and CR all end records")
    func rfc4180Fields() throws {
        let read = try records("a,\"b, c\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",,x\rlast,\"\"")
        #expect(read.map(\.fields) == [["a", "b, c", "say \"hi\""], ["multi\nline", "", "x"], ["last", ""]])
    }

    @Test("each record's end offset is where reading can resume, giving the same records")
    func resumeAtRecordEnd() throws {
        let text = "phone,name\n0412000001,\"A\nB\"\r\n0412000002,C\n0412000003,D"
        let all = try records(text)
        #expect(all.count == 4)
        for (i, record) in all.enumerated().dropLast() {
            let rest = try records(text, from: record.end)
            #expect(rest.map(\.fields) == all.dropFirst(i + 1).map(\.fields))
        }
    }

    @Test("an unterminated quote is an error naming where it opens; text after a closing quote is reported")
    func malformedQuotes() throws {
        #expect(throws: CSVFormatError.unterminatedQuote(offset: 4)) { try records("a,b\n\"open,x\n") }
        let bytes = Array("\"a\"b,c\n".utf8)
        try bytes.withUnsafeBufferPointer { buffer in
            var reader = CSVReader(bytes: buffer)
            var fields: [CSVField] = []
            let bounds = try #require(try reader.next(into: &fields))
            #expect(bounds.malformedField == 0)
            #expect(fields.count == 2)
        }
    }

    @Test("UTF-8 check finds the first invalid byte or NUL, and passes valid multi-byte text")
    func utf8Check() {
        func problem(_ bytes: [UInt8]) -> UTF8Check.Problem? { bytes.withUnsafeBufferPointer { UTF8Check.firstProblem(in: $0) } }
        #expect(problem(Array("Zoë, 東京, 🎉 and plain ASCII text long enough for the fast path".utf8)) == nil)
        #expect(problem(Array("abcdefghij".utf8) + [0xE9, 0x20]) == .invalid(offset: 10, byte: 0xE9))
        #expect(problem(Array("abcdefghij".utf8) + [0xC0, 0x80]) == .invalid(offset: 10, byte: 0xC0))
        #expect(problem([0xED, 0xA0, 0x80]) == .invalid(offset: 0, byte: 0xED))  // a UTF-16 surrogate
        #expect(problem(Array("abcdefghijkl".utf8) + [0] + Array("xyz".utf8)) == .nul(offset: 12))
        #expect(problem([0xF0, 0x9F, 0x8E]) == .invalid(offset: 0, byte: 0xF0))  // truncated at the end
    }

    @Test("headers map case-insensitively with aliases; other columns become attributes")
    func headerMapping() throws {
        let text = "\u{FEFF}Mobile Number, FirstName ,SURNAME,e_mail,TZ,Opt-In,List,Favourite Colour,attributes.plan\n0412000001\n"
        let summary = try Array(text.utf8).withUnsafeBufferPointer { ImportFileCheck.inspect($0, defaultCountry: "AU") }.get()
        let map = summary.columnMap
        #expect(map.fields == ["phone": 0, "first_name": 1, "last_name": 2, "email": 3, "timezone": 4, "consent": 5, "lists": 6])
        #expect(map.attributes.map(\.name) == ["Favourite Colour", "plan"])
        #expect(summary.totalRows == 1)
        #expect(map.dataOffset == Array(text.utf8).firstIndex(of: 10)! + 1)
    }
}
