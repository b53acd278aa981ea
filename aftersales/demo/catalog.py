"""Static Chinese demo vocabulary for the demo generator (products, names, places, problem tree, reason and note
templates). Data only, no logic: longer than 500 lines because it is a word list, kept in one place to edit."""

from __future__ import annotations

from aftersales.models import Attribution, RequestType

RT = RequestType

# --------------------------------------------------------------------------
# Products: category code → (name, SKU prefix, products)
# product: (name, lowest price ¥, highest price ¥, variants)
# --------------------------------------------------------------------------
_COLOURS = [("BK", "黑色"), ("WH", "白色"), ("GY", "灰色"), ("NV", "藏青")]
_SIZES = [("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL")]
_APPAREL = [(f"{c}{s}", f"{cl} {sl}") for c, cl in _COLOURS for s, sl in _SIZES]
_DIGITAL = [("BK", "曜石黑"), ("WH", "珍珠白"), ("BL", "星空蓝")]
_BABY = [("66", "66码"), ("73", "73码"), ("80", "80码"), ("90", "90码")]

PRODUCT_CATEGORIES = {
    "apparel": (
        "服饰",
        "FS",
        [
            ("纯棉圆领T恤", 59, 129, _APPAREL),
            ("修身牛仔裤", 139, 299, _APPAREL),
            ("羊毛针织开衫", 199, 499, _APPAREL),
            ("轻薄羽绒服", 399, 999, _APPAREL),
            ("真丝连衣裙", 299, 899, _APPAREL),
            ("连帽运动卫衣", 129, 259, _APPAREL),
            ("免烫商务衬衫", 159, 329, _APPAREL),
        ],
    ),
    "digital": (
        "数码",
        "SM",
        [
            ("蓝牙降噪耳机", 199, 1299, _DIGITAL),
            ("智能手环", 149, 399, _DIGITAL),
            ("20000mAh充电宝", 89, 229, _DIGITAL),
            ("机械键盘", 249, 899, _DIGITAL),
            ("无线鼠标", 59, 199, _DIGITAL),
            ("智能手表", 599, 2999, _DIGITAL),
            ("27英寸4K显示器", 1299, 2999, [("27", "27英寸")]),
        ],
    ),
    "mother_baby": (
        "母婴",
        "MY",
        [
            ("婴儿纸尿裤L码84片", 99, 189, [("L84", "L码")]),
            ("轻便婴儿推车", 599, 2599, [("GY", "灰色"), ("BL", "蓝色")]),
            ("宝宝纯棉连体衣", 69, 159, _BABY),
            ("宽口径奶瓶套装", 79, 199, [("240", "240ml")]),
            ("儿童安全座椅", 899, 2299, [("BK", "黑色"), ("RD", "酒红")]),
            ("婴儿手口湿巾80抽×10包", 39, 89, [("X10", "10包装")]),
            ("电动吸奶器", 299, 899, [("DBL", "双边")]),
        ],
    ),
    "beauty": (
        "美妆",
        "MZ",
        [
            ("玻尿酸保湿精华液", 199, 799, [("30", "30ml"), ("50", "50ml")]),
            ("水乳护肤套装", 159, 599, [("SET", "套装")]),
            ("丝绒哑光口红", 129, 399, [("R01", "#01正红"), ("R16", "#16豆沙")]),
            ("清爽防晒霜SPF50", 79, 259, [("50", "50ml")]),
            ("补水面膜10片装", 59, 199, [("10", "10片")]),
            ("持妆粉底液", 189, 499, [("C1", "象牙白"), ("N2", "自然色")]),
            ("温和卸妆油", 99, 259, [("200", "200ml")]),
        ],
    ),
    "home": (
        "家居",
        "JJ",
        [
            ("慢回弹乳胶枕", 129, 399, [("STD", "标准款")]),
            ("全棉四件套", 199, 799, [("15", "1.5米床"), ("18", "1.8米床")]),
            ("不粘炒锅32cm", 129, 459, [("32", "32cm")]),
            ("扫地机器人", 999, 3299, [("WH", "白色")]),
            ("收纳箱三件套", 49, 129, [("3P", "三件套")]),
            ("不锈钢电热水壶", 79, 229, [("17", "1.7L")]),
            ("空气净化器", 699, 2499, [("WH", "白色")]),
        ],
    ),
    "food": (
        "食品",
        "SP",
        [
            ("每日坚果礼盒", 99, 259, [("30", "30袋")]),
            ("五常稻花香大米5kg", 49, 129, [("5K", "5kg")]),
            ("进口纯牛奶整箱", 59, 129, [("24", "24盒")]),
            ("明前龙井茶叶", 159, 699, [("250", "250g")]),
            ("阳澄湖大闸蟹礼券", 399, 1299, [("8P", "8只装")]),
            ("意式拼配咖啡豆1kg", 89, 299, [("1K", "1kg")]),
        ],
    ),
}
PRODUCT_CATEGORY_WEIGHTS = {"apparel": 30, "digital": 20, "mother_baby": 12, "beauty": 14, "home": 14, "food": 10}

# --------------------------------------------------------------------------
# Problem categories: level 1 (attribution) › level 2 › level 3
# --------------------------------------------------------------------------
PROBLEM_TREE = [
    (
        "质量问题",
        Attribution.PRODUCT_QUALITY,
        [
            ("面料", ["起球", "褪色", "开线"]),
            ("电子故障", ["无法开机", "屏幕坏点", "电池鼓包"]),
            ("破损", ["商品破损", "配件缺失"]),
        ],
    ),
    (
        "物流问题",
        Attribution.LOGISTICS,
        [
            ("延误", ["超时未达"]),
            ("丢件", ["整件丢失", "少件"]),
        ],
    ),
    (
        "服务问题",
        Attribution.SERVICE,
        [
            ("客服态度", ["回复慢", "态度差"]),
            ("发错货", ["错发颜色", "错发尺码"]),
        ],
    ),
    (
        "个人原因",
        Attribution.CUSTOMER,
        [
            ("不想要了", ["七天无理由", "拍错了"]),
            ("尺码不合", ["偏大", "偏小"]),
        ],
    ),
]

_ALL = list(PRODUCT_CATEGORIES)
_NOT_FOOD = [code for code in _ALL if code != "food"]

#: leaf → how cases in it look: product categories it fits, request types
#: (weights), whether the goods reached the customer, the customer's reasons.
LEAVES = {
    "起球": {
        "products": ["apparel"],
        "types": {RT.RETURN_REFUND: 5, RT.EXCHANGE: 3, RT.PRICE_ADJUSTMENT: 2},
        "reasons": [
            "{product}穿了两次就起球了，质量太差。",
            "{product}洗了一次全是毛球，要求退货。",
            "刚收到的{product}袖口就起球，申请售后。",
        ],
    },
    "褪色": {
        "products": ["apparel", "home"],
        "types": {RT.RETURN_REFUND: 5, RT.EXCHANGE: 2, RT.PRICE_ADJUSTMENT: 2},
        "reasons": ["{product}第一次手洗就严重掉色，把其他衣服也染了。", "{product}晒了一次颜色明显变浅。"],
    },
    "开线": {
        "products": ["apparel", "mother_baby"],
        "types": {RT.RETURN_REFUND: 4, RT.EXCHANGE: 3, RT.REPAIR: 1, RT.PRICE_ADJUSTMENT: 2},
        "reasons": ["{product}腋下开线了，才穿了一周。", "{product}缝线处脱线，做工有问题。"],
    },
    "无法开机": {
        "products": ["digital", "home"],
        "types": {RT.REPAIR: 4, RT.EXCHANGE: 3, RT.RETURN_REFUND: 3},
        "reasons": ["{product}充满电后无法开机，按电源键没反应。", "{product}用了三天突然黑屏，开不了机。"],
    },
    "屏幕坏点": {
        "products": ["digital"],
        "types": {RT.EXCHANGE: 4, RT.RETURN_REFUND: 3, RT.REPAIR: 2},
        "reasons": ["{product}屏幕上有两个亮点，非常影响使用。", "新买的{product}屏幕左上角有坏点。"],
    },
    "电池鼓包": {
        "products": ["digital"],
        "types": {RT.RETURN_REFUND: 4, RT.EXCHANGE: 3, RT.REPAIR: 2},
        "reasons": ["{product}电池鼓包，后盖都顶起来了，担心安全。", "{product}充电时发烫严重，电池明显鼓起。"],
        "urgent": True,
    },
    "商品破损": {
        "products": ["home", "beauty", "food", "digital", "mother_baby"],
        "types": {RT.RETURN_REFUND: 4, RT.REFUND_ONLY: 3, RT.EXCHANGE: 2, RT.PRICE_ADJUSTMENT: 2},
        "reasons": [
            "快递送到时{product}外包装压坏，商品本身也有裂痕。",
            "{product}收到就是碎的，已拍照片。",
            "{product}瓶身破裂，漏了一半。",
        ],
    },
    "配件缺失": {
        "products": ["digital", "mother_baby", "home"],
        "types": {RT.REFUND_ONLY: 3, RT.EXCHANGE: 2, RT.PRICE_ADJUSTMENT: 3},
        "reasons": ["{product}少了充电线和说明书。", "打开包装发现{product}缺少配件。"],
    },
    "超时未达": {
        "products": _ALL,
        "types": {RT.REFUND_ONLY: 6, RT.COMPLAINT: 3},
        "reasons": ["{product}下单一周了物流一直没更新。", "显示已发货但{product}迟迟没有送到，要求退款。"],
        "undelivered": True,
    },
    "整件丢失": {
        "products": _ALL,
        "types": {RT.REFUND_ONLY: 1},
        "reasons": ["快递说{product}在中转站丢了，要求退款。", "{product}快递丢件，快递员说找不到了。"],
        "undelivered": True,
    },
    "少件": {
        "products": ["food", "beauty", "mother_baby"],
        "types": {RT.REFUND_ONLY: 4, RT.PRICE_ADJUSTMENT: 2},
        "reasons": ["买了两件{product}只收到一件。", "{product}箱子里少了一盒。"],
    },
    "回复慢": {
        "products": _ALL,
        "types": {RT.COMPLAINT: 1},
        "reasons": ["咨询{product}的售后问题，客服两天都没回复。", "在线客服排队一个多小时没人理。"],
    },
    "态度差": {
        "products": _ALL,
        "types": {RT.COMPLAINT: 1},
        "reasons": ["客服态度很差，不耐烦，还挂我电话。", "问{product}的发货时间，客服说话很冲，要求投诉。"],
    },
    "错发颜色": {
        "products": ["apparel", "digital", "beauty"],
        "types": {RT.EXCHANGE: 5, RT.RETURN_REFUND: 3},
        "reasons": ["我买的是黑色{product}，收到的是白色。", "{product}颜色发错了，和订单不一致。"],
    },
    "错发尺码": {
        "products": ["apparel", "mother_baby"],
        "types": {RT.EXCHANGE: 5, RT.RETURN_REFUND: 3},
        "reasons": ["下单L码的{product}，收到的是M码。", "{product}尺码发错了，要求换货。"],
    },
    "七天无理由": {
        "products": _NOT_FOOD,
        "types": {RT.RETURN_REFUND: 1},
        "reasons": [
            "{product}不太喜欢，七天无理由退货。",
            "{product}和预期不符，申请退货。",
            "{product}实物和图片色差大，不想要了。",
        ],
    },
    "拍错了": {
        "products": _ALL,
        "types": {RT.RETURN_REFUND: 4, RT.EXCHANGE: 2},
        "reasons": ["{product}拍错型号了，申请退货。", "不小心多拍了一件{product}，退一件。"],
    },
    "偏大": {
        "products": ["apparel", "mother_baby"],
        "types": {RT.EXCHANGE: 5, RT.RETURN_REFUND: 3},
        "reasons": ["{product}尺码偏大，想换小一码。", "{product}穿着太大了，按尺码表买的。"],
    },
    "偏小": {
        "products": ["apparel", "mother_baby"],
        "types": {RT.EXCHANGE: 5, RT.RETURN_REFUND: 3},
        "reasons": ["{product}偏小一码，穿不上。", "{product}尺码偏小，想换大一码。"],
    },
}

#: QC findings when the merchant (or the carrier) is responsible, by level-2 category.
#: (grade, responsible party, disposition, findings)
QC_FINDINGS = {
    "面料": [
        ("C", "merchant", "refurbish", "面料起球明显，确认为质量问题"),
        ("C", "merchant", "scrap", "水洗后褪色，色牢度不达标"),
        ("B", "merchant", "refurbish", "缝线开裂约3厘米，做工问题"),
    ],
    "电子故障": [
        ("D", "merchant", "refurbish", "通电测试无法开机，主板故障"),
        ("C", "merchant", "refurbish", "屏幕存在坏点，确认为屏幕缺陷"),
        ("D", "merchant", "scrap", "电池明显鼓包，存在安全隐患，报废处理"),
    ],
    "破损": [
        ("C", "logistics", "scrap", "外包装及商品本体均有破损，运输挤压所致"),
        ("missing", "merchant", "refurbish", "缺少原装配件，仓库漏发"),
    ],
    "丢件": [("B", "logistics", "restock", "外箱有二次封箱痕迹，物流责任")],
    "延误": [("A", "logistics", "restock", "商品完好，物流超时")],
    "发错货": [("A", "merchant", "restock", "核对确为错发商品，商品完好")],
    "客服态度": [("A", "merchant", "restock", "商品完好")],
    "不想要了": [
        ("A", "merchant", "restock", "商品完好，吊牌齐全，可二次销售"),
        ("B", "merchant", "restock", "已拆封但不影响二次销售"),
    ],
    "尺码不合": [("A", "merchant", "restock", "商品完好，吊牌齐全，可二次销售")],
}
#: QC findings that put the customer at fault (the case is rejected).
QC_CUSTOMER_FAULT = [
    ("C", "return_to_customer", "商品有明显使用痕迹且吊牌已剪，不符合退货条件"),
    ("wrong_item", "return_to_customer", "退回商品与订单商品不符，非本店所售"),
    ("D", "return_to_customer", "人为损坏（进水），非质量问题"),
    ("missing", "return_to_customer", "退回时缺少赠品和原包装，顾客未按要求寄回"),
]

#: Reasons for refusing a request at review, by attribution of its problem category.
REJECT_REASONS = {
    Attribution.CUSTOMER: [
        "商品已拆封使用，影响二次销售，不符合退货条件。",
        "定制类商品不支持七天无理由退货。",
        "赠品及包装不全，请补齐后重新申请。",
    ],
    Attribution.PRODUCT_QUALITY: [
        "未提供有效的问题凭证（照片或视频），请补充后重新申请。",
        "经核实属正常使用磨损，不属于质量问题。",
    ],
    Attribution.LOGISTICS: [
        "经核实物流显示已正常签收且外包装完好。",
        "仓库出库称重记录与订单一致，未发现少件。",
    ],
    Attribution.SERVICE: [
        "已调取客服聊天记录，未发现服务不当，已向顾客说明。",
        "经核实发货记录与订单一致。",
    ],
}
#: A reason that goes with a request opened after the policy window.
REJECT_LATE = "已超过售后期限，无法受理退货申请。"
CANCEL_NOTES = ["顾客主动撤销售后申请。", "顾客表示问题已自行解决。", "与顾客协商一致，撤销申请。", ""]
ESCALATE_NOTES = [
    "顾客对处理结果不满，申请平台介入。",
    "顾客在社交媒体发布投诉，需加急处理。",
    "顾客多次来电催促，情绪激动。",
]
ESCALATE_SYSTEM_NOTE = "触发升级规则：多次催单，系统自动升级。"
RESOLVE_NOTES = {
    "compensation": "主管复核：同意重新制定补偿方案。",
    "closed": "主管复核：维持原方案，已与顾客电话沟通达成一致。",
    "rejected": "主管复核：证据不足，维持驳回。",
}
CONFIRM_NOTES = ["", "", "顾客已在App内确认方案。", "顾客电话确认接受方案。"]
REPAIR_OFFER = "免费维修，维修完成后顺丰包邮寄回。"
QUICK_REFUND_OFFER = "已极速退款¥{amount}，无其他补偿。"
#: What the customer read (the template used is on the event's data, never in the words sent).
TEMPLATE_REPLY_NOTE = "您好，您的售后申请已收到，我们会尽快处理。"
APPROVAL_REQUEST_NOTE = "补偿方案合计 ¥{total}，超出权限额度 ¥{limit}：已提交主管审批。"
NO_COMPENSATION_OFFER = "按顾客申请处理，无额外补偿。"
#: (carrier code, waybill prefix, digits after it): numbers in each carrier's format (``workflow.shipping``).
CARRIERS = [
    ("SF", "SF", 13),
    ("ZTO", "7", 13),
    ("YTO", "YT", 13),
    ("JD", "JDVA", 11),
    ("YUNDA", "43", 11),
    ("STO", "77", 11),
    ("EMS", "11", 11),
    ("JTEXPRESS", "JT", 13),
]
#: Where a returned parcel the warehouse has not received yet may be (its carrier's latest word).
PARCEL_STATUSES = ["reported", "collected", "in_transit", "in_transit", "out_for_delivery", "delivered", "exception"]
#: The scans that lead to each status.
PARCEL_PATHS = {
    "reported": [],
    "collected": ["collected"],
    "in_transit": ["collected", "in_transit", "in_transit"],
    "out_for_delivery": ["collected", "in_transit", "in_transit", "out_for_delivery"],
    "delivered": ["collected", "in_transit", "in_transit", "out_for_delivery", "delivered"],
    "exception": ["collected", "in_transit", "exception"],
}
PARCEL_CITIES = ["杭州市", "南京市", "苏州市", "合肥市", "宁波市", "无锡市", "广州市", "北京市"]
WAREHOUSE_CITY = "上海市"
PARCEL_SCANS = {
    "collected": ["【{city}】快递员已上门揽收", "【{city}】您的快件已由驿站揽收"],
    "in_transit": [
        "快件已到达【{city}转运中心】",
        "快件已从【{city}转运中心】发出，下一站【上海转运中心】",
        "快件已到达【上海转运中心】",
    ],
    "out_for_delivery": ["【上海市嘉定区】快递员正在派件，电话：138****6100"],
    "delivered": ["【上海市嘉定区】已签收，签收人：售后仓（代收）"],
    "exception": ["快件派送不成功：收件地址不详，等待联系收件人", "快件外包装破损，已联系发件人处理"],
}

COMPENSATION_NOTES = {
    "refund": "退货退款",
    "return_shipping": "运费补贴",
    "coupon": "无门槛优惠券",
    "cash": "现金补偿",
    "replacement": "补发新品",
    "gift": "赠品",
}
QUICK_REFUND_NOTE = "极速退款"
QUICK_REFUND_VOID_NOTE = "质检判定顾客责任，作废极速退款并追回。"
RESOLVE_VOID_NOTE = "升级处理结论为驳回，补偿作废。"

# --------------------------------------------------------------------------
# People and places
# --------------------------------------------------------------------------
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建红晶飞波宇欣怡子涵浩然梓轩雨桐思彤一诺俊熙佳琪晨阳婷雪琳峰宁凯丹颖博文嘉昊天睿"
)
EMAIL_NAMES = [
    "xiaoming",
    "lily",
    "sunny",
    "happy",
    "tiger",
    "panda",
    "coco",
    "leo",
    "mia",
    "kevin",
    "amy",
    "jack",
    "echo",
    "vivian",
    "david",
]
EMAIL_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "outlook.com"]

#: (province, city, districts)
PLACES = [
    ("北京市", "北京市", ["朝阳区", "海淀区", "丰台区", "通州区"]),
    ("上海市", "上海市", ["浦东新区", "徐汇区", "静安区", "闵行区"]),
    ("天津市", "天津市", ["和平区", "南开区", "滨海新区"]),
    ("重庆市", "重庆市", ["渝中区", "江北区", "沙坪坝区"]),
    ("广东省", "广州市", ["天河区", "越秀区", "番禺区"]),
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区", "龙岗区"]),
    ("广东省", "东莞市", ["南城街道", "松山湖"]),
    ("浙江省", "杭州市", ["西湖区", "滨江区", "余杭区", "拱墅区"]),
    ("浙江省", "宁波市", ["鄞州区", "海曙区"]),
    ("江苏省", "南京市", ["鼓楼区", "建邺区", "江宁区"]),
    ("江苏省", "苏州市", ["姑苏区", "工业园区", "吴中区"]),
    ("四川省", "成都市", ["武侯区", "锦江区", "高新区", "青羊区"]),
    ("湖北省", "武汉市", ["武昌区", "洪山区", "江汉区"]),
    ("湖南省", "长沙市", ["岳麓区", "开福区", "雨花区"]),
    ("山东省", "济南市", ["历下区", "市中区"]),
    ("山东省", "青岛市", ["市南区", "崂山区", "黄岛区"]),
    ("福建省", "厦门市", ["思明区", "湖里区"]),
    ("福建省", "福州市", ["鼓楼区", "台江区"]),
    ("河南省", "郑州市", ["金水区", "二七区", "郑东新区"]),
    ("陕西省", "西安市", ["雁塔区", "碑林区", "未央区"]),
    ("辽宁省", "沈阳市", ["和平区", "浑南区"]),
    ("安徽省", "合肥市", ["蜀山区", "包河区"]),
    ("云南省", "昆明市", ["五华区", "盘龙区"]),
    ("黑龙江省", "哈尔滨市", ["南岗区", "道里区"]),
]
STREETS = [
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平路",
    "文化路",
    "新华路",
    "长江路",
    "光明街",
    "科技路",
    "滨江大道",
    "学院路",
    "幸福路",
    "青年路",
]
RISK_FLAGS = [["频繁退货"], ["疑似职业索赔"], ["历史拒付"], ["频繁退货", "收货地址异常"]]

# --------------------------------------------------------------------------
# Staff pool (username, Chinese name)
# --------------------------------------------------------------------------
AGENT_NAMES = ["张敏", "李娜", "王磊", "刘洋", "陈静", "杨帆", "赵婷", "黄强", "周雪", "吴昊"]
QC_NAMES = ["孙浩", "马丽", "朱峰"]
SUPERVISOR_NAMES = ["胡军", "郭琳"]
FINANCE_NAMES = ["林芳", "何伟"]
#: Service accounts of the channel systems, acting for customers (group "channel").
CHANNEL_ACCOUNTS = {"app": "App渠道", "mini_program": "小程序渠道", "live_stream": "直播渠道", "web": "网页渠道"}


# --------------------------------------------------------------------------
# Response templates (话术): (code, title, scenario, request type, product category code,
# segment, tone, channel, body). Empty strings mean "any".
# --------------------------------------------------------------------------
#: Templates that speak of one kind of compensation (suggested only when the offer holds one).
TEMPLATE_GRANTED_KIND = {"follow-baby": "replacement"}
RESPONSE_TEMPLATES = [
    # acknowledge
    (
        "ack-general",
        "受理确认（通用）",
        "acknowledge",
        "",
        "",
        "",
        "warm",
        "",
        "{customer_name}您好，您的售后申请{case_number}（订单{order_number}）我们已收到，会在{deadline}前给您答复，请您放心。",
    ),
    (
        "ack-vip",
        "受理确认（VIP专席）",
        "acknowledge",
        "",
        "",
        "vip",
        "warm",
        "",
        "尊敬的{customer_name}，您好！我是您的专属售后顾问{agent_name}。您的申请{case_number}已优先受理，处理进展我会第一时间告诉您。",
    ),
    (
        "ack-new",
        "受理确认（新顾客）",
        "acknowledge",
        "",
        "",
        "new",
        "warm",
        "",
        "{customer_name}您好，欢迎您来到本店！您的售后申请{case_number}已收到。首次购物遇到问题给您添麻烦了，我们会认真处理。",
    ),
    (
        "ack-return",
        "退货寄回指引",
        "acknowledge",
        "return_refund",
        "",
        "",
        "fast",
        "",
        "{customer_name}您好，申请{case_number}已通过。请在{return_days}天内将{product_name}寄回至：{return_address}。寄出后请在售后进度页填写快递公司和运单号，我们收货即安排质检。",
    ),
    (
        "ack-exchange",
        "换货受理",
        "acknowledge",
        "exchange",
        "",
        "",
        "fast",
        "",
        "{customer_name}您好，换货申请{case_number}已受理。请在{return_days}天内寄回{product_name}，我们收到后立即为您发出新品。",
    ),
    (
        "ack-live",
        "直播间售后受理",
        "acknowledge",
        "",
        "",
        "",
        "fast",
        "live_stream",
        "宝宝您好～直播间订单{order_number}的售后{case_number}已收到啦，主播团队会在{deadline}前处理完毕，请留意消息哦！",
    ),
    (
        "ack-mini",
        "小程序售后受理",
        "acknowledge",
        "",
        "",
        "",
        "fast",
        "mini_program",
        "您好，您在小程序提交的售后{case_number}已受理，可在“我的-售后”中随时查看进度。",
    ),
    (
        "ack-baby",
        "母婴商品受理",
        "acknowledge",
        "",
        "mother_baby",
        "",
        "empathetic",
        "",
        "{customer_name}您好，宝宝用品出问题一定很着急，我们非常理解。申请{case_number}已加急处理，请先暂停使用{product_name}。",
    ),
    # apologise
    (
        "sorry-general",
        "致歉（通用）",
        "apologise",
        "",
        "",
        "",
        "empathetic",
        "",
        "{customer_name}您好，非常抱歉给您带来了不好的购物体验。关于{case_number}，我们一定给您一个满意的处理结果。",
    ),
    (
        "sorry-logistics",
        "物流问题致歉",
        "apologise",
        "",
        "",
        "",
        "empathetic",
        "",
        "{customer_name}您好，快递运输造成的问题让您久等了，非常抱歉。我们已联系物流公司核实，{case_number}会优先为您处理。",
    ),
    (
        "sorry-digital",
        "数码故障致歉",
        "apologise",
        "",
        "digital",
        "",
        "fast",
        "",
        "{customer_name}您好，抱歉{product_name}出现故障。请您先停止充电使用，{case_number}我们马上安排检测，结果出来第一时间通知您。",
    ),
    (
        "sorry-vip",
        "VIP致歉",
        "apologise",
        "",
        "",
        "vip",
        "formal",
        "",
        "尊敬的{customer_name}，作为我们的VIP顾客，您遇到这样的问题我们深感歉意。{agent_name}将全程跟进{case_number}，直至您满意为止。",
    ),
    # request evidence
    (
        "evidence-photo",
        "补充凭证（照片）",
        "request_evidence",
        "",
        "",
        "",
        "fast",
        "",
        "{customer_name}您好，为了尽快处理{case_number}，麻烦您补充{product_name}问题部位的清晰照片（2–3张），谢谢配合！",
    ),
    (
        "evidence-video",
        "补充凭证（开机视频）",
        "request_evidence",
        "",
        "digital",
        "",
        "fast",
        "",
        "{customer_name}您好，请您拍一段{product_name}开机及故障现象的短视频上传，方便工程师判断故障原因，{case_number}会优先处理。",
    ),
    (
        "evidence-apparel",
        "补充凭证（服饰）",
        "request_evidence",
        "",
        "apparel",
        "",
        "warm",
        "",
        "{customer_name}您好，麻烦您在自然光下拍一下{product_name}的吊牌、洗标和问题位置，我们核实后马上为您处理{case_number}。",
    ),
    (
        "evidence-beauty",
        "补充凭证（美妆）",
        "request_evidence",
        "",
        "beauty",
        "",
        "empathetic",
        "",
        "{customer_name}您好，请您提供{product_name}的批号照片和过敏部位照片，如有就医记录也请一并提供，我们会认真核实。",
    ),
    # QC result
    (
        "qc-merchant",
        "质检结果（商家责任）",
        "qc_result",
        "",
        "",
        "",
        "empathetic",
        "",
        "{customer_name}您好，{product_name}已质检完毕：{findings}。确认为商品问题，我们会按规则为您补偿，方案稍后发送。",
    ),
    (
        "qc-digital",
        "质检结果（数码）",
        "qc_result",
        "",
        "digital",
        "",
        "fast",
        "",
        "{customer_name}您好，工程师检测结论：{findings}。{case_number}的处理方案将在今天内发出，请留意。",
    ),
    (
        "qc-baby",
        "质检结果（母婴）",
        "qc_result",
        "",
        "mother_baby",
        "",
        "empathetic",
        "",
        "{customer_name}您好，宝宝用品的检测已完成：{findings}。宝宝的安全是第一位的，我们已为您准备好处理方案。",
    ),
    # compensation offer
    (
        "offer-refund",
        "补偿方案（退款）",
        "compensation_offer",
        "",
        "",
        "",
        "fast",
        "",
        "{customer_name}您好，{case_number}的处理方案：退款{refund_amount}，原路退回。请在{deadline}前确认，确认后1–3个工作日到账。",
    ),
    (
        "offer-total",
        "补偿方案（组合）",
        "compensation_offer",
        "",
        "",
        "",
        "warm",
        "",
        "{customer_name}您好，针对{case_number}我们为您准备了补偿方案，合计{compensation_total}。请在{deadline}前确认，如有疑问随时联系我们。",
    ),
    (
        "offer-vip",
        "补偿方案（VIP升级）",
        "compensation_offer",
        "",
        "",
        "vip",
        "formal",
        "",
        "尊敬的{customer_name}，除退款{refund_amount}外，我们额外为您准备了VIP专属补偿，方案合计{compensation_total}，期待您的确认。",
    ),
    (
        "offer-exchange",
        "换货方案",
        "compensation_offer",
        "exchange",
        "",
        "",
        "fast",
        "",
        "{customer_name}您好，新的{product_name}已为您备好，确认方案后24小时内发出，运费由我们承担。",
    ),
    (
        "offer-price",
        "价保补差方案",
        "compensation_offer",
        "price_adjustment",
        "",
        "",
        "fast",
        "",
        "{customer_name}您好，价保申请{case_number}已核实，补差{refund_amount}将退回原支付账户，请确认。",
    ),
    # rejection
    (
        "reject-window",
        "驳回（超出退货期）",
        "rejection",
        "",
        "",
        "",
        "formal",
        "",
        "{customer_name}您好，很抱歉，{case_number}的申请已超出退货期限，暂时无法受理：{reject_reason}。如商品存在质量问题，欢迎补充凭证后重新申请。",
    ),
    (
        "reject-used",
        "驳回（影响二次销售）",
        "rejection",
        "",
        "apparel",
        "",
        "formal",
        "",
        "{customer_name}您好，经质检{product_name}已影响二次销售（{findings}），本次无法退货，商品会原路寄回给您，敬请谅解。",
    ),
    (
        "reject-food",
        "驳回（食品已拆封）",
        "rejection",
        "",
        "food",
        "",
        "formal",
        "",
        "{customer_name}您好，食品类商品拆封后不支持无理由退货，{case_number}无法受理。若有变质等质量问题，请提供照片，我们会再核实。",
    ),
    # follow-up visit
    (
        "follow-general",
        "售后回访",
        "follow_up",
        "",
        "",
        "",
        "warm",
        "",
        "{customer_name}您好，{case_number}已处理完成。想了解一下您对这次处理是否满意？您的评价对我们很重要。",
    ),
    (
        "follow-vip",
        "VIP回访",
        "follow_up",
        "",
        "",
        "vip",
        "warm",
        "",
        "尊敬的{customer_name}，{case_number}已圆满完成。{agent_name}在这里再次感谢您的信任，下次购物有任何需要都可以直接找我。",
    ),
    (
        "follow-baby",
        "母婴回访",
        "follow_up",
        "",
        "mother_baby",
        "",
        "empathetic",
        "",
        "{customer_name}您好，宝宝这几天用新换的{product_name}还习惯吗？有任何问题随时告诉我们。",
    ),
    (
        "follow-home",
        "家居回访",
        "follow_up",
        "",
        "home",
        "",
        "warm",
        "",
        "{customer_name}您好，{product_name}的问题已处理完毕，使用中如需安装指导，我们可安排师傅上门。",
    ),
    # crisis
    (
        "crisis-calm",
        "危机安抚",
        "crisis",
        "",
        "",
        "",
        "empathetic",
        "",
        "{customer_name}您好，我是售后主管{agent_name}，您的情况我已全部了解。非常抱歉让您如此失望，我会亲自负责{case_number}，今天内给您答复。",
    ),
    (
        "crisis-callback",
        "危机回电承诺",
        "crisis",
        "",
        "",
        "",
        "formal",
        "",
        "{customer_name}您好，关于{case_number}，主管将在30分钟内致电您，当面沟通解决方案，请保持电话畅通。",
    ),
    (
        "crisis-flagged",
        "风险顾客规范回复",
        "crisis",
        "",
        "",
        "flagged",
        "formal",
        "",
        "{customer_name}您好，{case_number}我们将严格按照平台规则处理，处理结果会以书面形式发送给您。",
    ),
]
