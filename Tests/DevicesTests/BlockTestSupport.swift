import GuestMemory
@testable import Devices

/// Request types and statuses as the Linux driver uses them.
enum BlockRequestType {
    static let read: UInt32 = 0
    static let write: UInt32 = 1
    static let flush: UInt32 = 4
    static let getID: UInt32 = 8
}

enum BlockStatus {
    static let ok: UInt8 = 0
    static let ioError: UInt8 = 1
    static let unsupported: UInt8 = 2
}

struct DataBuffer {
    let address: UInt64
    let length: UInt32
    let writable: Bool
}

extension VirtqueueDriver {
    /// Posts header, data buffers and status as descriptors `base`, `base+1`, … and returns
    /// the status byte's address (pre-filled with 0xFF so a missing answer shows).
    @discardableResult
    func postRequest(
        type: UInt32, sector: UInt64 = 0, data: [DataBuffer] = [], firstDescriptor base: UInt16 = 0,
        headerWritable: Bool = false, statusWritable: Bool = true
    ) throws -> UInt64 {
        let header = 0x20000 + UInt64(base) * 0x40
        try memory.write(type, at: header)
        try memory.write(UInt32(0), at: header + 4)
        try memory.write(sector, at: header + 8)
        let status = header + 0x20
        try memory.write(UInt8(0xFF), at: status)
        var index = base
        try descriptor(index, address: header, length: 16, flags: DescriptorFlag.next | (headerWritable ? DescriptorFlag.write : 0), next: index + 1)
        for buffer in data {
            index += 1
            try descriptor(index, address: buffer.address, length: buffer.length, flags: DescriptorFlag.next | (buffer.writable ? DescriptorFlag.write : 0), next: index + 1)
        }
        index += 1
        try descriptor(index, address: status, length: 1, flags: statusWritable ? DescriptorFlag.write : 0)
        try publish(base)
        return status
    }

    func statusByte(_ address: UInt64) throws -> UInt8 { try memory.read(UInt8.self, at: address) }
}

extension VirtioHarness {
    static func blockHarness(disk: TemporaryDisk, readOnly: Bool = false, id: String = "swiftlet-disk") throws -> (VirtioHarness, VirtioBlock) {
        let block = try VirtioBlock(path: disk.path, readOnly: readOnly, id: id)
        return (try VirtioHarness(device: block), block)
    }
}
