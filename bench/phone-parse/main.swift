// Parse throughput of PhoneNumber.parse, built by bench/phone-parse.sh with swiftc -O together with
// the phone files of SMSCore (no database, no package build). Prints numbers/s on 1 and 2 threads.
import Dispatch
import Foundation

let path = CommandLine.arguments.dropFirst().first ?? "phones.txt"
let phones = try! String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)

func run(threads: Int) -> (seconds: Double, valid: Int) {
    let start = DispatchTime.now().uptimeNanoseconds
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads)
    defer { counts.deallocate() }
    counts.initialize(repeating: 0)
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        var valid = 0
        var i = t
        while i < phones.count {
            if (try? PhoneNumber.parse(phones[i], defaultCountry: "AU")) != nil { valid += 1 }
            i += threads
        }
        counts[t] = valid
    }
    return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, counts.reduce(0, +))
}

_ = run(threads: 1)  // warm-up: metadata and regular expression caches
for threads in [1, 2] {
    let (seconds, valid) = run(threads: threads)
    print(
        "threads=\(threads) numbers=\(phones.count) valid=\(valid) "
            + String(format: "%.3f s  %.0f numbers/s  %.2f µs/number", seconds, Double(phones.count) / seconds, seconds / Double(phones.count) * 1e6))
}
