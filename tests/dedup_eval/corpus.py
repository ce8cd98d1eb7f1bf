"""A labelled near-duplicate evaluation set, generated deterministically from sentences written for it.

Stories are press releases: a lead and three sentences in the topic's own wording (filled with a
province, a date and figures) plus sentences composed from shared parts, so stories on one topic
share vocabulary and phrases. They come in runs of four per topic: a story; the same event (same
province, date and figures) written up independently; a story quoting two sentences of the one
before; next month's report from the same template as the one before (two thirds of its
sentences with new figures, the rest new; published 28-35 days later). Each story is republished
nine times, 0-10 days after it: verbatim, cosmetically changed, and with edits of increasing
size, whose share is measured on words (difflib) after editing, not assumed.

`evaluation_set(seed)` -> list of `Sample` (group = the story it belongs to; `edited` = measured
share of words changed from the original, None for the original itself).
"""

from __future__ import annotations

import difflib
import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

PROVINCES = ["Thanh Hóa", "Nghệ An", "Hà Tĩnh", "Quảng Trị", "Huế", "Đà Nẵng", "Quảng Ngãi", "Gia Lai",
             "Đắk Lắk", "Khánh Hòa", "Lâm Đồng", "Đồng Nai", "Tây Ninh", "Cần Thơ", "Vĩnh Long", "An Giang",
             "Cà Mau", "Lào Cai", "Tuyên Quang", "Thái Nguyên", "Phú Thọ", "Bắc Ninh", "Hưng Yên", "Ninh Bình",
             "Quảng Ninh", "Hải Phòng", "Lạng Sơn", "Cao Bằng", "Sơn La", "Điện Biên", "Lai Châu", "Đồng Tháp"]
LEADERS = ["Phó Chủ tịch UBND tỉnh", "Chủ tịch UBND tỉnh", "Giám đốc Sở Khoa học và Công nghệ",
           "Phó Bí thư Tỉnh ủy", "Phó Giám đốc Công an tỉnh", "Giám đốc Sở Y tế", "Giám đốc Sở Giáo dục và Đào tạo"]

# Sentences written for this evaluation. Slots: {p} province, {d} day/month, {n} {m} counts,
# {x} {y} percentages, {who} a leader.
TOPICS: dict[str, list[str]] = {
    "dvc": [
        "Ngày {d}, UBND tỉnh {p} tổ chức hội nghị đánh giá kết quả cung cấp dịch vụ công trực tuyến trên địa bàn.",
        "Theo báo cáo, toàn tỉnh hiện cung cấp {n} thủ tục hành chính dưới dạng dịch vụ công trực tuyến toàn trình.",
        "Tỷ lệ hồ sơ được tiếp nhận và giải quyết trực tuyến trong quý vừa qua đạt {x}%, cao hơn mức bình quân chung của cả nước.",
        "Tỷ lệ thanh toán phí, lệ phí trực tuyến mới đạt {y}%, chủ yếu do người dân còn quen nộp tiền mặt tại bộ phận một cửa.",
        "Một số sở, ngành vẫn để xảy ra tình trạng hồ sơ quá hạn, yêu cầu người dân bổ sung giấy tờ nhiều lần.",
        "Hệ thống thông tin giải quyết thủ tục hành chính của tỉnh đã kết nối với Cổng Dịch vụ công quốc gia để đồng bộ trạng thái hồ sơ.",
        "Phát biểu chỉ đạo, {who} đề nghị người đứng đầu các cơ quan chịu trách nhiệm nếu để hồ sơ trễ hẹn kéo dài.",
        "Các địa phương được yêu cầu bố trí nhân lực hướng dẫn người dân tạo tài khoản và nộp hồ sơ tại nhà.",
        "Tỉnh đặt mục tiêu đến cuối năm có ít nhất {m}% hồ sơ được số hóa kết quả giải quyết và tái sử dụng dữ liệu.",
        "Trung tâm Phục vụ hành chính công sẽ thí điểm bố trí máy tra cứu và ki-ốt hỗ trợ nộp hồ sơ tự động.",
        "Đại diện Bưu điện tỉnh cho biết dịch vụ nhận và trả kết quả tại nhà đã phục vụ hơn {n} lượt trong năm.",
        "Hội nghị cũng ghi nhận nhiều ý kiến phản ánh về đường truyền chậm và giao diện phần mềm chưa thân thiện.",
        "Sở Nội vụ được giao rà soát, đưa tiêu chí giải quyết hồ sơ trực tuyến vào đánh giá, xếp loại cán bộ cuối năm.",
        "Những đơn vị có tỷ lệ hồ sơ trực tuyến thấp phải báo cáo nguyên nhân và giải pháp khắc phục trước ngày {d}.",
        "Kết quả này góp phần nâng chỉ số hài lòng của người dân đối với sự phục vụ của cơ quan hành chính lên {x}%.",
    ],
    "da06": [
        "Sáng {d}, Ban Chỉ đạo triển khai Đề án 06 tỉnh {p} họp đánh giá tiến độ thực hiện các nhiệm vụ trọng tâm.",
        "Công an tỉnh đã thu nhận hồ sơ định danh điện tử cho hơn {n} công dân, trong đó số tài khoản được kích hoạt đạt {x}%.",
        "Cơ sở dữ liệu quốc gia về dân cư tiếp tục được làm sạch, bảo đảm thông tin đúng, đủ, sạch, sống.",
        "Các bệnh viện trên địa bàn đã cho phép người bệnh dùng căn cước gắn chip thay thẻ bảo hiểm y tế khi khám chữa bệnh.",
        "Toàn tỉnh có {m} điểm cung cấp dịch vụ công được trang bị thiết bị đọc thẻ căn cước và xác thực sinh trắc học.",
        "Tiện ích cấp phiếu lý lịch tư pháp trên ứng dụng VNeID đã giải quyết {n} hồ sơ, rút ngắn thời gian chờ của người dân.",
        "Phát biểu kết luận, {who} yêu cầu các đơn vị không để tình trạng mỗi nơi một phần mềm, dữ liệu không kết nối được.",
        "Việc chi trả an sinh xã hội không dùng tiền mặt qua tài khoản ngân hàng đã đạt {y}% số đối tượng thụ hưởng.",
        "Công an cấp xã tiếp tục tổ chức các đợt cao điểm thu nhận hồ sơ tại nhà cho người già, người khuyết tật.",
        "Ban Chỉ đạo đề nghị các ngân hàng thương mại đẩy nhanh việc đối chiếu dữ liệu khách hàng với căn cước.",
        "Một số mô hình điểm như chợ không dùng tiền mặt, trường học số đã được nhân rộng ra nhiều địa phương.",
        "Tỉnh cũng chú trọng tuyên truyền để người dân cảnh giác với các thủ đoạn lừa đảo mạo danh cơ quan công an.",
        "Kết quả triển khai Đề án 06 của tỉnh được Tổ công tác của Chính phủ đánh giá thuộc nhóm khá của cả nước.",
        "Các sở, ngành được giao hoàn thành việc làm giàu dữ liệu chuyên ngành và kết nối với dữ liệu dân cư trong tháng {d}.",
        "Trong thời gian tới, tỉnh sẽ triển khai thêm {m} nhóm tiện ích mới phục vụ người dân và doanh nghiệp.",
    ],
    "hts": [
        "Ngày {d}, Sở Khoa học và Công nghệ tỉnh {p} công bố kết quả phát triển hạ tầng số năm nay.",
        "Mạng cáp quang đã phủ tới {x}% thôn, bản, tổ dân phố; sóng di động 4G có mặt ở tất cả các xã.",
        "Các doanh nghiệp viễn thông đã lắp đặt thêm {n} trạm phát sóng 5G tại khu đô thị và khu công nghiệp.",
        "Trung tâm dữ liệu của tỉnh được nâng cấp, bảo đảm lưu trữ tập trung cho {m} hệ thống thông tin dùng chung.",
        "Nền tảng tích hợp, chia sẻ dữ liệu cấp tỉnh đã kết nối với Nền tảng tích hợp, chia sẻ dữ liệu quốc gia.",
        "Mạng truyền số liệu chuyên dùng được kéo đến toàn bộ các xã, phường sau sắp xếp đơn vị hành chính.",
        "Tuy nhiên, vẫn còn {n} thôn vùng sâu chưa có sóng di động ổn định do địa hình đồi núi chia cắt.",
        "Tại buổi làm việc, {who} đề nghị các nhà mạng ưu tiên xóa vùng lõm sóng trước mùa mưa bão.",
        "Tỉnh sẽ hỗ trợ kinh phí để hộ nghèo được mượn điện thoại thông minh và dùng gói cước ưu đãi.",
        "Hệ thống camera giám sát an ninh trật tự đã kết nối về Trung tâm điều hành thông minh của tỉnh.",
        "Tốc độ truy cập Internet cố định bình quân trên địa bàn đạt khoảng {m} Mbps, tăng {y}% so với năm trước.",
        "Việc dùng chung hạ tầng cột ăng-ten giữa các doanh nghiệp giúp giảm chi phí đầu tư và bảo đảm mỹ quan đô thị.",
        "Sở được giao xây dựng quy hoạch hạ tầng số giai đoạn mới, trình UBND tỉnh trước ngày {d}.",
        "Các doanh nghiệp cam kết hoàn thành phủ sóng 5G tại trung tâm các xã trong năm tới.",
        "Hạ tầng số được xác định là nền móng để phát triển chính quyền số, kinh tế số và xã hội số.",
    ],
    "yte": [
        "Ngày {d}, Sở Y tế tỉnh {p} tổ chức hội nghị trực tuyến về chuyển đổi số trong ngành y tế.",
        "Đến nay đã có {m} bệnh viện triển khai bệnh án điện tử, không còn dùng phim chụp in trên giấy.",
        "Tỷ lệ người dân có hồ sơ sức khỏe điện tử trên ứng dụng VNeID đạt {x}%, giúp bác sĩ tra cứu tiền sử bệnh nhanh hơn.",
        "Các trạm y tế xã đã kết nối phần mềm quản lý khám chữa bệnh với hệ thống giám định bảo hiểm y tế.",
        "Người bệnh có thể đặt lịch khám, thanh toán viện phí qua ứng dụng, giảm thời gian chờ đợi tại quầy.",
        "Giấy chứng sinh và giấy báo tử điện tử đã được liên thông {n} trường hợp sang cơ quan đăng ký hộ tịch.",
        "Một số cơ sở y tế tuyến huyện còn thiếu nhân lực công nghệ thông tin và thiết bị đầu cuối.",
        "Phát biểu tại hội nghị, {who} yêu cầu bảo mật tuyệt đối dữ liệu cá nhân của người bệnh.",
        "Ngành y tế đặt mục tiêu đến cuối năm có {y}% bệnh viện tuyến tỉnh triển khai khám chữa bệnh từ xa.",
        "Hệ thống hội chẩn trực tuyến đã kết nối bệnh viện tỉnh với {n} cơ sở tuyến dưới và bệnh viện trung ương.",
        "Các đơn vị được đề nghị chuẩn hóa danh mục kỹ thuật để dữ liệu khám chữa bệnh liên thông thông suốt.",
        "Sở Y tế sẽ phối hợp với doanh nghiệp viễn thông đào tạo kỹ năng số cho nhân viên y tế thôn bản.",
        "Việc kê đơn thuốc điện tử đã được áp dụng tại toàn bộ bệnh viện công lập trên địa bàn.",
        "Trung tâm Kiểm soát bệnh tật đưa vào sử dụng phần mềm quản lý tiêm chủng mở rộng trên toàn tỉnh.",
        "Hội nghị thống nhất lộ trình chuyển dữ liệu khám chữa bệnh lên nền tảng điện toán đám mây.",
    ],
    "kts": [
        "Ngày {d}, Cục Thống kê tỉnh {p} công bố kinh tế số đóng góp khoảng {x}% vào tổng sản phẩm trên địa bàn.",
        "Toàn tỉnh có {n} doanh nghiệp công nghệ số đang hoạt động, tăng đáng kể so với cùng kỳ.",
        "Doanh thu thương mại điện tử của các doanh nghiệp địa phương tăng {y}% nhờ bán hàng trên các sàn lớn.",
        "Nhiều hợp tác xã đã đưa nông sản đặc sản lên sàn thương mại điện tử và truy xuất nguồn gốc bằng mã QR.",
        "Tỷ lệ doanh nghiệp sử dụng hóa đơn điện tử đạt gần như tuyệt đối, giảm đáng kể chi phí giấy tờ.",
        "Tổ công nghệ số cộng đồng ở {m} xã đã hướng dẫn hộ kinh doanh mở tài khoản và thanh toán không dùng tiền mặt.",
        "Tại tọa đàm, {who} cho rằng doanh nghiệp nhỏ và vừa vẫn lúng túng khi bắt đầu chuyển đổi số.",
        "Tỉnh sẽ dành kinh phí hỗ trợ doanh nghiệp thuê phần mềm quản trị, kế toán và chữ ký số trong ba năm đầu.",
        "Các khu công nghiệp được khuyến khích xây dựng nhà máy thông minh, tự động hóa dây chuyền sản xuất.",
        "Chương trình đào tạo kỹ năng số cho {n} học viên là chủ doanh nghiệp, hộ kinh doanh đã hoàn thành.",
        "Tỉnh phấn đấu đến năm 2030 kinh tế số chiếm ít nhất {m}% tổng sản phẩm trên địa bàn.",
        "Nhiều điểm du lịch đã áp dụng vé điện tử và bản đồ số giúp du khách tra cứu thông tin thuận tiện.",
        "Ngân hàng Nhà nước chi nhánh khu vực cho biết giao dịch qua mã QR tăng mạnh trong các dịp lễ, Tết.",
        "Các chuyên gia khuyến nghị doanh nghiệp chú trọng an toàn dữ liệu khi đưa hoạt động lên môi trường số.",
        "Sở Công Thương được giao tổ chức hội chợ trực tuyến kết nối cung cầu cho sản phẩm địa phương.",
    ],
    "gd": [
        "Ngày {d}, Sở Giáo dục và Đào tạo tỉnh {p} sơ kết một năm triển khai chuyển đổi số trong trường học.",
        "Toàn bộ {n} trường phổ thông đã dùng học bạ số, thay thế sổ điểm giấy truyền thống.",
        "Tỷ lệ học sinh nộp học phí không dùng tiền mặt đạt {x}%, giảm gánh nặng thu chi cho giáo viên.",
        "Kho học liệu số của tỉnh có hơn {m} bài giảng điện tử, được giáo viên chia sẻ và dùng chung.",
        "Tuyển sinh đầu cấp được thực hiện trực tuyến, phụ huynh không phải đến trường nộp hồ sơ giấy.",
        "Nhiều trường vùng cao vẫn thiếu máy tính và đường truyền để tổ chức dạy học trực tuyến khi cần.",
        "Phát biểu tại hội nghị, {who} đề nghị bồi dưỡng năng lực số cho đội ngũ giáo viên trước năm học mới.",
        "Các trường được yêu cầu bảo đảm an toàn thông tin tài khoản học sinh, không để lộ dữ liệu cá nhân.",
        "Sở đặt mục tiêu {y}% cơ sở giáo dục có phòng học thông minh vào cuối giai đoạn.",
        "Phong trào Bình dân học vụ số được triển khai trong nhà trường với các buổi học kỹ năng số cho phụ huynh.",
        "Một số trường đã thí điểm dùng trí tuệ nhân tạo hỗ trợ chấm bài trắc nghiệm và gợi ý lộ trình ôn tập.",
        "Cơ sở dữ liệu ngành giáo dục đã kết nối với cơ sở dữ liệu dân cư để xác thực thông tin học sinh.",
        "Các doanh nghiệp viễn thông tặng {n} máy tính bảng cho học sinh có hoàn cảnh khó khăn.",
        "Hội nghị thống nhất triển khai thư viện số dùng chung cho các trường trên địa bàn tỉnh.",
        "Kết quả chuyển đổi số là một tiêu chí thi đua của các cơ sở giáo dục trong năm học.",
    ],
}

# What republishing portals add or say differently.
LOCAL_ADDITIONS = [
    "Tại huyện miền núi, cán bộ xã đã đến từng thôn hướng dẫn bà con cài đặt ứng dụng trên điện thoại.",
    "Phóng viên ghi nhận nhiều người cao tuổi được con cháu hỗ trợ thao tác ngay tại bộ phận một cửa.",
    "Trước đó, địa phương đã tổ chức lớp tập huấn cho cán bộ không chuyên trách ở các thôn, tổ dân phố.",
    "Đây là lần đầu tiên nội dung này được đưa vào chương trình công tác trọng tâm của năm.",
    "Người dân mong muốn thủ tục tiếp tục được đơn giản hóa, bớt giấy tờ phải khai lại nhiều lần.",
    "Ở một số xã ven biển, việc phủ sóng vẫn gặp khó khăn vào mùa mưa bão.",
    "Đoàn viên thanh niên tình nguyện được huy động hỗ trợ người dân vào các ngày cuối tuần.",
    "Cổng thông tin điện tử của xã đã đăng tải đầy đủ hướng dẫn và số điện thoại hỗ trợ.",
]
SYNONYMS = [("tổ chức", "tiến hành"), ("đạt", "đạt được"), ("UBND", "Ủy ban nhân dân"), ("người dân", "nhân dân"),
            ("tăng", "tăng lên"), ("đề nghị", "yêu cầu"), ("trên địa bàn", "tại địa phương"), ("hơn", "trên"),
            ("toàn bộ", "tất cả"), ("cho biết", "thông tin"), ("nhanh hơn", "thuận tiện hơn")]
CREDITS = ["Nguồn: Cổng Thông tin điện tử tỉnh", "Theo Báo điện tử Chính phủ", "Tin: Văn phòng UBND tỉnh"]

EDIT_LEVELS = (0.05, 0.10, 0.15, 0.20, 0.30, 0.40)  # share of words edited in the copies
FIRST_DAY = date(2025, 1, 6)


@dataclass
class Sample:
    key: str            # unique id of the sample
    group: str          # the story it belongs to (same group = same story)
    title: str
    text: str
    edited: float | None  # measured share of words changed from the original; None for the original
    kind: str           # original | verbatim | cosmetic | edited
    published: str      # copies appear 0-10 days after their original


# Sentences composed from parts, so that two stories on one topic share vocabulary and phrases
# but rarely whole sentences (what independent write-ups of one topic look like).
OPENERS = ["Thời gian qua,", "Trong năm nay,", "Bên cạnh đó,", "Đáng chú ý,", "Theo kế hoạch,", "Từ đầu năm đến nay,",
           "Cũng tại buổi làm việc,", "Thực hiện chỉ đạo của tỉnh,", "Sau hơn một năm triển khai,",
           "Để khắc phục hạn chế,", "Trong quý tới,", "Song song với đó,"]
ACTORS = ["các sở, ban, ngành", "UBND cấp xã", "Sở Tài chính", "Văn phòng UBND tỉnh", "Sở Nội vụ",
          "các doanh nghiệp viễn thông", "Ban Chỉ đạo chuyển đổi số tỉnh", "Tỉnh đoàn", "Hội Liên hiệp Phụ nữ tỉnh",
          "Liên đoàn Lao động tỉnh", "các trường cao đẳng", "Báo và Phát thanh, Truyền hình tỉnh", "Hội Nông dân tỉnh",
          "Bảo hiểm xã hội tỉnh"]
ACTIONS = ["đã phối hợp triển khai", "tập trung rà soát", "chủ động xây dựng", "kịp thời hướng dẫn",
           "đẩy mạnh tuyên truyền về", "bố trí kinh phí cho", "kiểm tra, đôn đốc", "tổ chức đánh giá",
           "hoàn thiện quy chế về", "ký kết thỏa thuận hợp tác về", "sơ kết việc thực hiện", "báo cáo kết quả về"]
OBJECTS = ["quy trình nội bộ giải quyết thủ tục hành chính", "việc số hóa hồ sơ, tài liệu lưu trữ",
           "các nền tảng số dùng chung", "kỹ năng số cho cán bộ, công chức", "kho dữ liệu dùng chung của tỉnh",
           "hệ thống quản lý văn bản và điều hành", "mô hình thôn, bản thông minh", "thanh toán không dùng tiền mặt",
           "công tác bảo đảm an toàn thông tin mạng", "các ứng dụng phục vụ người dân trên thiết bị di động",
           "phong trào Bình dân học vụ số", "chữ ký số cá nhân cho người dân", "hội nghị truyền hình trực tuyến",
           "dữ liệu đất đai và quy hoạch"]
PURPOSES = ["nhằm nâng cao chất lượng phục vụ người dân.", "góp phần cải thiện chỉ số DTI của tỉnh.",
            "bảo đảm tiến độ đề ra.", "với {n} lượt người tham gia.", "tạo chuyển biến rõ nét trong nhận thức.",
            "hướng tới mục tiêu xây dựng chính quyền số.", "trước ngày {d}.", "theo đúng lộ trình của Trung ương.",
            "và đạt khoảng {y}% kế hoạch năm.", "tại {m} xã, phường trên địa bàn.",
            "để kịp thời tháo gỡ khó khăn, vướng mắc.", "làm cơ sở nhân rộng trong thời gian tới."]


def random_slots(rng: random.Random) -> dict:
    return {"p": rng.choice(PROVINCES), "d": f"{rng.randint(1, 28)}/{rng.randint(1, 12)}",
            "n": f"{rng.randint(120, 9_800):,}".replace(",", "."), "m": rng.randint(3, 90),
            "x": f"{rng.randint(20, 98)},{rng.randint(1, 9)}", "y": rng.randint(5, 60), "who": rng.choice(LEADERS)}


def _composed(rng: random.Random) -> str:
    return " ".join([rng.choice(OPENERS), rng.choice(ACTORS), rng.choice(ACTIONS), rng.choice(OBJECTS),
                     rng.choice(PURPOSES)])


def _outline(rng: random.Random, topic: str) -> list[str]:
    """A story's sentence templates: a lead, three in the topic's wording and four to six composed ones."""
    templates = TOPICS[topic]
    body = rng.sample(templates[1:], 3) + [_composed(rng) for _ in range(rng.randint(4, 6))]
    rng.shuffle(body)
    return [templates[0]] + body


def _write(outline: list[str], slots: dict) -> tuple[str, list[str]]:
    """(title, sentences) of an outline filled with a province, a date and figures."""
    sentences = [t.format(**slots) for t in outline]
    return f"{slots['p']}: {sentences[0].split(',', 1)[-1].strip().rstrip('.')[:90]}", sentences


def _paragraphs(sentences: list[str], rng: random.Random) -> str:
    out, current = [], []
    for sentence in sentences:
        current.append(sentence)
        if len(current) >= rng.randint(2, 3):
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return "\n\n".join(out)


def edited_share(original: str, copy: str) -> float:
    """Word-level edit distance from the original to the copy, as a share of the original's words.

    A replaced run of words counts its longer side, an inserted or deleted run its length.
    """
    a, b = original.split(), copy.split()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    edits = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")
    return edits / len(a)


def edit_once(rng: random.Random, sentences: list[str]) -> list[str]:
    sentences = list(sentences)
    op = rng.choice(["add", "delete", "synonym", "synonym", "replace", "cut_lead", "credit"])
    if op == "add":
        sentences.insert(rng.randint(1, len(sentences)), rng.choice(LOCAL_ADDITIONS))
    elif op == "delete" and len(sentences) > 4:
        del sentences[rng.randint(1, len(sentences) - 1)]
    elif op == "cut_lead" and len(sentences) > 4:
        del sentences[0]
    elif op == "replace":
        i = rng.randint(1, len(sentences) - 1)
        words = sentences[i].split()
        keep = len(words) // 2
        sentences[i] = " ".join(words[:keep] + ["theo", "kế", "hoạch", "đã", "được", "phê", "duyệt."])
    elif op == "credit":
        sentences.append(rng.choice(CREDITS) + ".")
    else:
        for old, new in rng.sample(SYNONYMS, len(SYNONYMS)):
            hits = [i for i, s in enumerate(sentences) if old in s]
            if hits:
                i = rng.choice(hits)
                sentences[i] = sentences[i].replace(old, new, 1)
                break
    return sentences


def edited_copy(rng: random.Random, sentences: list[str], original: str, target: float) -> tuple[str, float]:
    current = list(sentences)
    for _ in range(200):
        text = _paragraphs(current, random.Random(len(current)))
        share = edited_share(original, text)
        if share >= target - 0.02:
            return text, share
        current = edit_once(rng, current)
    return text, share


def cosmetic_copy(text: str) -> str:
    """What differs between two portals carrying the same body: NFD, old tone placement, spacing."""
    text = text.replace("hóa", "hoá").replace("Hòa", "Hoà").replace("thủy", "thuỷ")
    return unicodedata.normalize("NFD", re.sub(r" ", "  ", text, count=3))


def evaluation_set(seed: int = 7, stories_per_topic: int = 10) -> list[Sample]:
    """Every story with its copies; stories come in runs of four per topic (see the module docstring)."""
    rng = random.Random(seed)
    samples: list[Sample] = []
    for topic in TOPICS:
        previous = None  # (outline, slots, sentences, day) of the story before
        for index in range(stories_per_topic):
            kind = index % 4 if previous else 0
            day = FIRST_DAY + timedelta(days=rng.randint(0, 300))
            outline = _outline(rng, topic)
            slots = random_slots(rng)
            if kind == 1:    # the same event as the story before, written up independently
                slots, day = previous[1], previous[3] + timedelta(days=rng.randint(0, 1))
            elif kind == 3:  # next month's report: two thirds of the sentences of the one before, new figures
                kept = previous[0][1:]
                kept = rng.sample(kept, round(len(kept) * 2 / 3))
                outline = [previous[0][0]] + [t for t in previous[0][1:] if t in kept] + outline[len(kept) + 1:]
                slots = {**random_slots(rng), "p": previous[1]["p"], "who": previous[1]["who"]}
                day = previous[3] + timedelta(days=rng.randint(28, 35))
            title, sentences = _write(outline, slots)
            if kind == 2:    # quotes two sentences of the story before
                sentences = sentences[:2] + rng.sample(previous[2][1:], 2) + sentences[2:]
            previous = (outline, slots, sentences, day)
            group = f"{topic}-{index}"
            original = _paragraphs(sentences, random.Random(index))

            def sample(name: str, title: str, text: str, edited: float | None, kind: str) -> Sample:
                published = day + timedelta(days=0 if edited is None else rng.randint(0, 10))
                return Sample(f"{group}/{name}", group, title, text, edited, kind, f"{published}T08:00:00+07:00")

            samples.append(sample("original", title, original, None, "original"))
            samples.append(sample("verbatim", "Tin: " + title, original, 0.0, "verbatim"))
            samples.append(sample("cosmetic", title.upper(), cosmetic_copy(original), 0.0, "cosmetic"))
            for level in EDIT_LEVELS:
                text, share = edited_copy(rng, sentences, original, level)
                samples.append(sample(f"edited-{int(level * 100)}", title, text, share, "edited"))
    return samples


def bucket(share: float | None) -> str:
    """The reporting bucket of a copy's edited share: 0%, <=5%, <=10%, ... (None: the original)."""
    if share is None:
        return "original"
    for limit in (0.0, 0.05, 0.10, 0.15, 0.20, 0.30, 0.40):
        if share <= limit + 0.005:
            return f"<={int(limit * 100)}%"
    return ">40%"
