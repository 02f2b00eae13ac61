/// A UTC calendar date and time computed from seconds since 1970 by arithmetic alone.
///
/// Foundation's `Calendar` looks up the host's time zone the first time it is used (a
/// `readlink` of /etc/localtime), even when told to use UTC; on a vCPU thread narrowed by
/// seccomp that file access kills the VMM. The proleptic Gregorian calendar needs no tables:
/// count days from 0000-03-01, so that the leap day ends each year, in 400-year eras.
struct UTCDateTime: Equatable {
    var year: Int
    /// 1...12
    var month: Int
    /// 1...31
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    /// 1 for Sunday through 7 for Saturday, as the MC146818 counts.
    var weekday: Int

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int) {
        (self.year, self.month, self.day) = (year, month, day)
        (self.hour, self.minute, self.second, self.weekday) = (hour, minute, second, weekday)
    }

    init(secondsSince1970 seconds: Int64) {
        let secondsPerDay: Int64 = 86_400
        let days = Int(seconds.floorDivided(by: secondsPerDay))
        let secondOfDay = Int(seconds - Int64(days) * secondsPerDay)
        hour = secondOfDay / 3600
        minute = secondOfDay / 60 % 60
        second = secondOfDay % 60
        // 1970-01-01 was a Thursday (5 when Sunday is 1).
        weekday = (days + 4).floorModulo(7) + 1

        let daysPerEra = 146_097
        let daysSinceMarchYearZero = days + 719_468  // 0000-03-01 to 1970-01-01
        let era = daysSinceMarchYearZero.floorDivided(by: daysPerEra)
        let dayOfEra = daysSinceMarchYearZero - era * daysPerEra  // 0...146096
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // from March 1
        let monthFromMarch = (5 * dayOfYear + 2) / 153  // 0 = March ... 11 = February
        day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }
}

extension BinaryInteger {
    fileprivate func floorDivided(by divisor: Self) -> Self {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    fileprivate func floorModulo(_ divisor: Self) -> Self {
        self - floorDivided(by: divisor) * divisor
    }
}
