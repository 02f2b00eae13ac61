import SwiftletCore
import Testing

@Suite struct AddressRangeTests {
    @Test func refusesRangesThatWrap() {
        #expect(AddressRange(start: UInt64.max, length: 2) == nil)
        #expect(AddressRange(start: UInt64.max, length: 1) != nil)
        #expect(AddressRange(start: 0, length: UInt64.max) != nil)
    }

    @Test func rangeEndingAtTopOfSpaceHasNoEnd() throws {
        let range = try #require(AddressRange(start: UInt64.max - 15, length: 16))
        #expect(range.end == nil)
        #expect(range.last == UInt64.max)
        #expect(range.contains(UInt64.max))
        #expect(range.contains(UInt64.max, count: 1))
        #expect(!range.contains(UInt64.max, count: 2))
    }

    @Test func containsWholeAccessesOnly() throws {
        let range = try #require(AddressRange(start: 0x1000, length: 0x100))
        #expect(range.contains(0x1000, count: 0x100))
        #expect(range.contains(0x10FC, count: 4))
        #expect(!range.contains(0x10FD, count: 4))
        #expect(!range.contains(0xFFF, count: 2))
        #expect(!range.contains(0x1000, count: UInt64.max))
        #expect(range.contains(0x1100, count: 0))
        #expect(!range.contains(0x1100))
    }

    @Test func offsetOfAccess() throws {
        let range = try #require(AddressRange(start: 0x1000, length: 0x100))
        #expect(range.offset(of: 0x1010, count: 8) == 0x10)
        #expect(range.offset(of: 0x10F9, count: 8) == nil)
        #expect(range.offset(of: 0x1000, count: 0x100) == 0)
    }

    @Test func overlaps() throws {
        let a = try #require(AddressRange(start: 0x1000, length: 0x100))
        #expect(a.overlaps(try #require(AddressRange(start: 0x10FF, length: 1))))
        #expect(!a.overlaps(try #require(AddressRange(start: 0x1100, length: 1))))
        #expect(!a.overlaps(try #require(AddressRange(start: 0xF00, length: 0x100))))
        #expect(a.overlaps(try #require(AddressRange(start: 0, length: UInt64.max))))
        #expect(!a.overlaps(try #require(AddressRange(start: 0x1010, length: 0))))
    }

    @Test func subrange() throws {
        let a = try #require(AddressRange(start: 0x1000, length: 0x100))
        #expect(a.subrange(offset: 0x10, count: 0x10) == AddressRange(start: 0x1010, length: 0x10))
        #expect(a.subrange(offset: 0xF8, count: 0x10) == nil)
        #expect(a.subrange(offset: UInt64.max, count: 1) == nil)
    }

    @Test func guestAddressArithmeticIsChecked() {
        #expect(GuestAddress(UInt64.max).adding(1) == nil)
        #expect(GuestAddress(0x1000).adding(0x10) == GuestAddress(0x1010))
        #expect(GuestAddress(0x1000).offset(from: 0x2000) == nil)
        #expect(GuestAddress(0x2010).offset(from: 0x2000) == 0x10)
        #expect("\(GuestAddress(0xFEE00000))" == "0xfee00000")
    }
}
