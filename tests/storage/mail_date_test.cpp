// Dates of Date: headers, as mail carries them, to seconds since the epoch.
#include "storage/mail_date.hpp"

#include <catch2/catch.hpp>

using oimap::storage::date_header_time;
using oimap::storage::parse_mail_date;

TEST_CASE("RFC 5322 dates and the obsolete forms mail still carries", "[mail_date]") {
  // 2008-06-03 11:05:30 UTC = 1212491130 (date -u -d ... +%s)
  CHECK(parse_mail_date("Tue, 3 Jun 2008 11:05:30 GMT") == 1212491130);
  CHECK(parse_mail_date("Tue, 03 Jun 2008 13:05:30 +0200") == 1212491130);
  CHECK(parse_mail_date("3 Jun 2008 07:05:30 -0400 (EDT)") == 1212491130);
  CHECK(parse_mail_date(" Tue,  3 Jun 2008 06:05:30 EST") == 1212491130);
  CHECK(parse_mail_date("Tue, 3 Jun 08 11:05:30 UT") == 1212491130);
  CHECK(parse_mail_date("Tue, 3 Jun 2008 11:05 +0000") == 1212491100);
  CHECK(parse_mail_date("Tue, 3 Jun 2008 11:05:30 Z") == 1212491130);
  CHECK(parse_mail_date("Tue, 3 Jun 2008 11:05:30") == 1212491130); // no zone: UTC
  CHECK(parse_mail_date("Tue, 3 Jun 2008 05:35:30 -0530") == 1212491130);

  CHECK_FALSE(parse_mail_date(""));
  CHECK_FALSE(parse_mail_date("yesterday"));
  CHECK_FALSE(parse_mail_date("Tue, 3 Foo 2008 11:05:30 +0000"));
  CHECK_FALSE(parse_mail_date("Tue, 3 Jun 2008 25:05:30 +0000"));
  CHECK_FALSE(parse_mail_date("Tue, 3 Jun 2008 11:05:30 +02"));
}

TEST_CASE("the Date: header among the headers, not the body's", "[mail_date]") {
  CHECK(date_header_time("From: a@b\r\nDATE: Tue, 3 Jun 2008\r\n 11:05:30 GMT\r\nSubject: x\r\n"
                         "\r\nDate: Wed, 4 Jun 2008 00:00:00 GMT\r\n")
        == 1212491130);
  CHECK_FALSE(date_header_time("From: a@b\nSubject: x\n\nDate: Tue, 3 Jun 2008 11:05:30 GMT\n"));
  CHECK_FALSE(date_header_time("Date: garbage\n\n"));
  CHECK(date_header_time("Delivery-date: Tue, 3 Jun 2008 11:05:30 GMT\n\n", "Delivery-date")
        == 1212491130);
}
