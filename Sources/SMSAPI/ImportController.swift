import Foundation
import Hummingbird
import NIOCore
import SMSCore

/// CSV contact imports (issue 3). The upload is stored and answered with 202;
/// an ``ImportProcessor`` imports it in the background and GET reports how
/// far it got, its counts and every rejected or flagged row.
struct ImportController {
    let imports: ImportStore

    /// Largest CSV file accepted (the API's JSON limit is 1 MB; CSV has its own).
    static let maxFileBytes = 50 << 20
    /// Room for multipart boundaries and small fields around the file.
    static let multipartOverhead = 64 << 10

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/imports") { request, context in try await list(request, context: context) }
        router.post("tenants/:tenantId/imports") { request, context in try await create(request, context: context) }
        router.get("tenants/:tenantId/imports/:importId") { request, context in try await show(request, context: context) }
    }

    /// An import with one page of its rejected and flagged rows.
    struct ImportDetail: Encodable, ResponseEncodable {
        let batch: ImportBatch
        let rejections: Page<ImportRejection>

        enum CodingKeys: String, CodingKey { case rejections, rejectionsNextCursor }

        func encode(to encoder: any Encoder) throws {
            try batch.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(rejections.items, forKey: .rejections)
            try c.encode(rejections.nextCursor, forKey: .rejectionsNextCursor)
        }
    }

    func list(_ request: Request, context: AppRequestContext) async throws -> PageBody<ImportBatch> {
        let access = try context.tenantAccess(minimum: .viewer)
        let page = try PageRequest(request)
        return PageBody(try await imports.list(tenantID: access.tenantID, cursor: page.cursor, limit: page.limit))
    }

    /// `?limit=` (1-1000, default 100) and `?cursor=` page through the rejected and flagged rows.
    func show(_ request: Request, context: AppRequestContext) async throws -> ImportDetail {
        let access = try context.tenantAccess(minimum: .viewer)
        let id = try context.uuidParameter("importId", resource: "import")
        let page = try PageRequest(request, defaultLimit: 100, maximum: 1000, ids: .integer)
        guard let batch = try await imports.find(tenantID: access.tenantID, id: id) else { throw APIError.notFound("import") }
        let afterRow = page.cursor.flatMap { Int($0.id) }
        let rejections = try await imports.rejections(tenantID: access.tenantID, importID: id, afterRow: afterRow, limit: page.limit)
        return ImportDetail(batch: batch, rejections: rejections)
    }

    /// The upload: the CSV as it is, or what a multipart form carries.
    struct Upload {
        var csv: [UInt8]
        var filename: String?
        var listIDs: [String]
        var consentSource: String?
    }

    func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ImportBatch> {
        let access = try context.tenantAccess(minimum: .member)
        let contentType = request.headers[.contentType] ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let isMultipart = mediaType == "multipart/form-data"
        guard isMultipart || mediaType == "text/csv" || mediaType == "application/csv" else {
            throw APIError(
                .unsupportedMediaType, code: "unsupported_media_type",
                message: "send the CSV as text/csv, or as multipart/form-data with the file in a part named file")
        }
        let limit = Self.maxFileBytes + (isMultipart ? Self.multipartOverhead : 0)
        // Refuse a declared oversize body before reading any of it.
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit { throw Self.tooLarge }
        var request = request
        let upload: Upload
        do {
            let body = try await request.collectBody(upTo: limit)
            upload = isMultipart ? try Self.multipartUpload(body, contentType: contentType) : try Self.rawUpload(body, request: request)
        } catch is NIOTooManyBytesError {
            throw Self.tooLarge
        }
        guard !upload.csv.isEmpty else { throw APIError.invalid("file", "is empty: the upload has no bytes") }
        guard upload.csv.count <= Self.maxFileBytes else { throw Self.tooLarge }

        let missing = try await imports.missingLists(tenantID: access.tenantID, ids: upload.listIDs)
        if let first = missing.first { throw APIError.invalid("list_ids", "no list \(first) in this tenant") }

        var createdBy: String?
        if case .user = context.principal?.kind { createdBy = context.principal?.id }
        let batch = try await imports.create(
            tenantID: access.tenantID, csv: upload.csv, filename: upload.filename, contentType: isMultipart ? "multipart/form-data" : mediaType,
            options: ImportBatch.Options(listIds: upload.listIDs, consentSource: upload.consentSource), createdBy: createdBy,
            audit: context.audit(tenantID: access.tenantID, action: "import.create", targetType: "import"))
        return JSONResponse(
            status: .accepted, body: batch, headers: [.location: "/tenants/\(access.tenantID)/imports/\(batch.id)"])
    }

    static let tooLarge = APIError(
        .contentTooLarge, code: "payload_too_large", message: "the CSV file is larger than \(maxFileBytes >> 20) MB; split it into smaller files")

    /// `text/csv`: the body is the file; options come from the query string.
    static func rawUpload(_ body: ByteBuffer, request: Request) throws -> Upload {
        let query = request.uri.queryParameters
        return Upload(
            csv: Array(body.readableBytesView),
            filename: try filename(query.get("filename")),
            listIDs: try listIDs(query.getAll("list_ids").map { String($0) }),
            consentSource: try consentSource(query.get("consent_source")))
    }

    /// `multipart/form-data`: a `file` part, optional `list_ids` (repeated or
    /// comma-separated) and `consent_source` parts.
    static func multipartUpload(_ body: ByteBuffer, contentType: String) throws -> Upload {
        guard let boundary = MultipartFormData.boundary(fromContentType: contentType) else {
            throw APIError.badRequest("multipart/form-data needs a boundary parameter in Content-Type")
        }
        let bytes = Array(body.readableBytesView)
        let form: MultipartFormData
        do {
            form = try MultipartFormData(parsing: bytes, boundary: boundary)
        } catch {
            throw APIError.badRequest("the multipart body is malformed: \(error.reason)")
        }
        guard let file = form.part(named: "file") else {
            throw APIError.invalid("file", "is required: send the CSV in a multipart part named file")
        }
        func text(_ part: MultipartFormData.Part) -> String { String(decoding: bytes[part.body], as: UTF8.self) }
        return Upload(
            csv: Array(bytes[file.body]),
            filename: try filename(file.filename),
            listIDs: try listIDs(form.parts.filter { $0.name == "list_ids" || $0.name == "list_ids[]" }.map(text)),
            consentSource: try consentSource(form.part(named: "consent_source").map(text)))
    }

    /// The last path component, at most 255 characters.
    static func filename(_ raw: String?) throws -> String? {
        guard let raw else { return nil }
        let name = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init)?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard !name.isEmpty else { return nil }
        guard name.count <= 255 else { throw APIError.invalid("filename", "at most 255 characters") }
        return name
    }

    /// List ids, given as repeated values or comma-separated; each a UUID.
    static func listIDs(_ values: [String]) throws -> [String] {
        var ids: [String] = []
        for value in values {
            for part in value.split(whereSeparator: { $0 == "," || $0.isWhitespace }) {
                guard let uuid = UUID(uuidString: String(part)) else {
                    throw APIError.invalid("list_ids", "\(quotedValue(String(part.prefix(40)))) is not a list id")
                }
                let id = uuid.uuidString.lowercased()
                if !ids.contains(id) { ids.append(id) }
            }
        }
        guard ids.count <= 100 else { throw APIError.invalid("list_ids", "at most 100 lists") }
        return ids
    }

    static func consentSource(_ raw: String?) throws -> String? {
        guard let value = raw?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        guard value.count <= 100 else { throw APIError.invalid("consent_source", "at most 100 characters") }
        return value
    }

    private static func quotedValue(_ text: String) -> String { "\"" + text + "\"" }
}

extension ImportBatch: ResponseEncodable {}
