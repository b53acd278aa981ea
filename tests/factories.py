"""factory-boy factories. Cases are built through the services (see conftest)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from aftersales.models import AgentProfile, Attribution, Policy, ProblemCategory, Queue
from customers.models import Channel, Customer, Order, OrderLine, ProductCategory


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-1")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))


class ProductCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductCategory
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"cat{n}")
    name = factory.Sequence(lambda n: f"品类{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"顾客{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    region = "上海"
    credit_score = 600


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"DD{n:010d}")
    customer = factory.SubFactory(CustomerFactory)
    channel = Channel.APP
    placed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=5))
    delivered_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=2))
    shipping_address = "上海市浦东新区世纪大道100号"


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    product_name = "纯棉T恤"
    category = factory.SubFactory(ProductCategoryFactory)
    unit_price = Decimal("99.00")
    unit_cost = Decimal("40.00")
    quantity = 2


class PolicyFactory(factory.django.DjangoModelFactory):
    """Saved one by one so simple-history records the version cases pin."""

    class Meta:
        model = Policy

    name = factory.Sequence(lambda n: f"售后政策{n}")
    channel = ""
    active = True


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue

    code = factory.Sequence(lambda n: f"queue{n}")
    name = factory.Sequence(lambda n: f"队列{n}")


class ProblemCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProblemCategory

    name = factory.Sequence(lambda n: f"问题{n}")
    attribution = Attribution.PRODUCT_QUALITY


class AgentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile

    user = factory.SubFactory(UserFactory)
    authority_limit = Decimal("200.00")
